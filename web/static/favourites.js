// mediasrv: the ★ on files, in the viewer and on grid tiles. Click it, or press * (on a
// grid also f): the viewer's file, or in a grid the tile last pointed at or focused.
// PUT /api/favourites?path=… stars a file, DELETE takes the star away.
(() => {
  "use strict";

  let chosen = null; // the grid tile last pointed at or focused (f stars it)

  function show(button, on) {
    button.classList.toggle("on", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function tell(text) {
    let toast = document.getElementById("star-toast");
    if (!toast) {
      toast = document.createElement("div");
      toast.id = "star-toast";
      toast.className = "star-toast";
      toast.setAttribute("role", "alert");
      document.body.append(toast);
    }
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(tell.timer);
    tell.timer = setTimeout(() => { toast.hidden = true; }, 5000);
  }

  async function toggle(button) {
    if (button.dataset.busy) return;
    const on = button.getAttribute("aria-pressed") !== "true";
    button.dataset.busy = "1";
    show(button, on); // at once; put back if the server says no
    try {
      const response = await fetch(button.dataset.api, {
        method: on ? "PUT" : "DELETE", headers: { Accept: "application/json" },
      });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        throw new Error(body && body.error ? body.error.message : `HTTP ${response.status}`);
      }
      button.dispatchEvent(new CustomEvent("favourite", { bubbles: true, detail: { on } }));
    } catch (error) {
      show(button, !on);
      tell(`Could not ${on ? "star" : "unstar"} this file: ${error.message}`);
    } finally {
      delete button.dataset.busy;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button.star");
    if (!button) return;
    event.preventDefault();
    toggle(button);
  });

  function choose(event) {
    chosen = event.target.closest ? event.target.closest(".grid li") : null;
  }
  document.addEventListener("pointerover", choose);
  document.addEventListener("focusin", choose);

  function target() {
    const here = document.getElementById("star");
    if (here) return here;
    return chosen ? chosen.querySelector("button.star") : null;
  }

  document.addEventListener("keydown", (event) => {
    // * stars; on a grid f does too (in the viewer f is fullscreen).
    const key = event.key === "*" || (event.key === "f" && !document.getElementById("viewer"));
    if (!key || event.defaultPrevented) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) {
      return;
    }
    const button = target();
    if (!button) return;
    event.preventDefault();
    toggle(button);
  });
})();
