// A card or table that scrolls sideways (a wide table on a phone) can be scrolled with the keyboard:
// it takes the focus (tabindex 0) and is named after its heading, while it actually overflows.
"use strict";

(function markScrollRegions() {
  const SELECTOR = ".card, .table-scroll, .tabs, pre";

  function mark() {
    for (const region of document.querySelectorAll(SELECTOR)) {
      const scrolls = region.scrollWidth > region.clientWidth + 1;
      if (scrolls && !region.hasAttribute("tabindex")) {
        region.setAttribute("tabindex", "0");
        region.dataset.scrollRegion = "";
        if (!region.hasAttribute("aria-label") && !region.hasAttribute("aria-labelledby")) {
          const heading = region.closest(".card")?.querySelector("h1, h2, h3");
          region.setAttribute("role", "region");
          region.setAttribute("aria-label", heading ? `${heading.textContent.trim()} (scrolls sideways)` : "Scrolls sideways");
        }
      } else if (!scrolls && "scrollRegion" in region.dataset) {
        region.removeAttribute("tabindex");
      }
    }
  }

  mark();
  let pending = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(mark);
  });
})();
