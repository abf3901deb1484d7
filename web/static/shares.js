// mediasrv: share links. On a tag's grid, the Share dialog makes one
// (POST /api/shares?tag=…); on /shares, each can be copied or revoked (DELETE).
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);

  function absolute(path) { return new URL(path, window.location.href).href; }

  function fail(text) {
    const box = $("share-error");
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  async function copy(input, button) {
    input.select();
    try {
      await navigator.clipboard.writeText(input.value);
    } catch (e) {
      document.execCommand("copy"); // plain http on a LAN address has no clipboard API
    }
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  async function why(response) {
    const body = await response.json().catch(() => null);
    return body && body.error ? body.error.message : `HTTP ${response.status}`;
  }

  // -- the dialog on a tag's grid ------------------------------------------
  const open = $("share");
  const dialog = $("share-dialog");
  if (open && dialog) {
    open.addEventListener("click", () => {
      $("share-result").hidden = true;
      $("share-error").hidden = true;
      $("share-create").disabled = false;
      dialog.showModal();
    });
    $("share-create").addEventListener("click", async () => {
      const button = $("share-create");
      button.disabled = true;
      $("share-error").hidden = true;
      let url = open.dataset.api;
      const expiry = $("share-expiry").value;
      if (expiry) url += `&expires_in=${expiry}`;
      if ($("share-download").checked) url += "&download=1";
      try {
        const response = await fetch(url, { method: "POST", headers: { Accept: "application/json" } });
        if (response.status !== 201) throw new Error(await why(response));
        const share = await response.json();
        $("share-url").value = absolute(share.url);
        $("share-result").hidden = false;
        $("share-url").select();
      } catch (e) {
        fail(`Could not make a link: ${e.message}`);
        button.disabled = false;
      }
    });
    $("share-copy").addEventListener("click", () => copy($("share-url"), $("share-copy")));
  }

  // -- the list on /shares ---------------------------------------------------
  const table = $("shares");
  if (table) {
    for (const input of table.querySelectorAll("input[data-path]")) input.value = absolute(input.dataset.path);
    table.addEventListener("click", async (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      const row = button.closest("tr");
      if (button.classList.contains("copy")) {
        copy(row.querySelector("input"), button);
        return;
      }
      if (!button.classList.contains("revoke")) return;
      button.disabled = true;
      try {
        const response = await fetch(button.dataset.api, { method: "DELETE", headers: { Accept: "application/json" } });
        if (response.status !== 204) throw new Error(await why(response));
        row.remove();
      } catch (e) {
        fail(`Could not revoke the link: ${e.message}`);
        button.disabled = false;
      }
    });
  }
})();
