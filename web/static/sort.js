// mediasrv: the grid's order (Name | Date taken) is remembered in this browser. The
// order last chosen with the grid's switch is kept, and the home page's tag links open
// their grids in it. Every URL still says its order (?sort=taken), so a link shared or
// bookmarked shows what it showed; without this script, tag links open in name order.
(() => {
  "use strict";

  const KEY = "mediasrv.sort";
  const ORDERS = ["name", "taken"];

  for (const link of document.querySelectorAll("#sort a[data-sort]")) {
    link.addEventListener("click", () => {
      try {
        localStorage.setItem(KEY, link.dataset.sort);
      } catch (error) {
        // storage refused (a private window): the switch still works, it is not kept
      }
    });
  }

  let sort = null;
  try {
    sort = localStorage.getItem(KEY);
  } catch (error) {
    return;
  }
  if (!ORDERS.includes(sort) || sort === "name") return; // name: the links as they are

  for (const link of document.querySelectorAll("#tags a.tag")) {
    const href = link.getAttribute("href");
    if (!href || /[?&]sort=/.test(href)) continue;
    link.setAttribute("href", `${href}${href.includes("?") ? "&" : "?"}sort=${sort}`);
  }
})();
