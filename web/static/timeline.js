// mediasrv: on a grid by date, choosing a month in the "Go to" list (phones) goes there at
// once; without this script its Go button does the same.
(() => {
  "use strict";
  document.documentElement.classList.add("js");
  const select = document.getElementById("month-select");
  if (!select) return;
  select.addEventListener("change", () => select.form.submit());
})();
