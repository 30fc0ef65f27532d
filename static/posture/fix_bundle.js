// The OS-configuration Quick fix: a header checkbox selects every failed rule of the page, and the download
// buttons wait for a selection. The checkboxes belong to the form through their form attribute.
"use strict";

const bundle = document.querySelector("form[data-fix-bundle]");
if (bundle) {
  const boxes = [...bundle.elements].filter((element) => element.name === "finding");
  const all = [...bundle.elements].find((element) => element.hasAttribute("data-select-all"));
  const buttons = [...bundle.querySelectorAll("button[type=submit]")];
  const update = () => {
    const chosen = boxes.filter((box) => box.checked).length;
    for (const button of buttons) button.disabled = chosen === 0;
    if (all) {
      all.checked = chosen > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
  };
  if (all) {
    all.addEventListener("change", () => {
      for (const box of boxes) box.checked = all.checked;
      update();
    });
  }
  for (const box of boxes) box.addEventListener("change", update);
  update();
}
