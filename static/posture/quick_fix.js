// The Quick fix table: a header checkbox selects every row of the page, and the button counts them.
"use strict";

const form = document.querySelector("form[data-quick-fix]");
if (form) {
  const boxes = [...form.querySelectorAll("input[name=resource]")];
  const all = form.querySelector("input[data-select-all]");
  const button = form.querySelector("button[type=submit]");
  const update = () => {
    const chosen = boxes.filter((box) => box.checked).length;
    button.disabled = chosen === 0;
    button.textContent = chosen ? `Quick fix (${chosen})` : "Quick fix";
    all.checked = chosen === boxes.length;
    all.indeterminate = chosen > 0 && chosen < boxes.length;
  };
  all.addEventListener("change", () => {
    for (const box of boxes) box.checked = all.checked;
    update();
  });
  for (const box of boxes) box.addEventListener("change", update);
  update();
}
