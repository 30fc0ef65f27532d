// The scope selector applies as soon as a subscription or a group is chosen; without JavaScript its
// button does.
"use strict";

document.documentElement.classList.add("js");

for (const select of document.querySelectorAll("select[data-autosubmit]")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}
