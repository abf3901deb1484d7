// mediasrv: keyboard navigation, the scan banner (fed by /api/events), the status footer.
// Plain JavaScript, no build step. Every page works without it; this only adds comfort.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const kind = body.dataset.page;
  const pageGeneration = body.dataset.generation === "" ? null : Number(body.dataset.generation);
  const number = new Intl.NumberFormat();

  // -- keyboard: ← → step, r random, Esc back, / search -------------------

  function follow(id, event) {
    const link = $(id);
    if (!link || !link.href) return;
    event.preventDefault();
    window.location.href = link.href;
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    // A focused player keeps its own arrow keys (seek, volume).
    const inPlayer = target.tagName === "VIDEO" || target.tagName === "AUDIO";
    switch (event.key) {
      case "ArrowLeft": if (!inPlayer) follow("prev", event); break;
      case "ArrowRight": if (!inPlayer) follow("next", event); break;
      case "r": follow("random", event); break;
      case "Escape": follow("back", event); break;
      case "/": {
        const search = document.querySelector(".search input");
        if (search) { event.preventDefault(); search.focus(); search.select(); }
        break;
      }
      default:
    }
  });

  // -- the viewer's picture: the same "broken" icon as the grid, and why ----

  const media = $("media");
  if (media && media.tagName === "IMG") {
    let triedPreview = false;
    const showBroken = async () => {
      const preview = media.dataset.preview;
      // A picture the browser cannot show as it is (a format it does not read) may
      // still have a preview: try it once.
      if (!triedPreview && preview && media.getAttribute("src") !== preview) {
        triedPreview = true;
        media.src = preview;
        return;
      }
      let reason = "This picture cannot be shown: it may be damaged, or in a format your browser cannot show.";
      try {
        const { status, body: answer } = await fetchJSON(preview);
        if (status >= 400 && answer && answer.error) reason = sentence(answer.error.message);
      } catch (e) { /* keep the general reason */ }
      $("broken-reason").textContent = reason;
      media.hidden = true;
      $("broken").hidden = false;
    };
    media.addEventListener("error", showBroken);
    if (media.complete && media.naturalWidth === 0 && media.getAttribute("src")) showBroken();
  }

  function sentence(text) {
    const s = String(text || "").trim();
    if (!s) return "";
    return s.charAt(0).toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? "" : ".");
  }

  // A playing video keeps its whole picture: the ‹ › overlays step aside.
  const stage = $("stage");
  if (media && media.tagName === "VIDEO" && stage) {
    const sync = () => stage.classList.toggle("playing", !media.paused && !media.ended);
    for (const name of ["play", "playing", "pause", "ended"]) media.addEventListener(name, sync);
  }

  // -- the tag filter on the home page -------------------------------------

  const filter = $("tag-filter");
  if (filter) {
    const items = Array.from(document.querySelectorAll("#tags li[data-name]"));
    filter.addEventListener("input", () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const li of items) {
        const hit = words.every((w) => li.dataset.name.includes(w));
        li.hidden = !hit;
        if (hit) shown += 1;
      }
      $("tags-none").hidden = shown > 0;
      for (const group of document.querySelectorAll("#tags .tag-group")) {
        group.hidden = !group.querySelector("li[data-name]:not([hidden])");
      }
    });
  }

  // -- footer: "last scan 5 min ago" ---------------------------------------

  function ago(date) {
    const s = Math.round((Date.now() - date.getTime()) / 1000);
    if (s < 45) return "just now";
    if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
    if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
    return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function refreshTime() {
    const el = $("st-time");
    if (!el || !el.getAttribute("datetime")) return;
    const date = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(date.getTime())) return;
    el.textContent = ago(date);
    el.title = date.toLocaleString();
  }
  refreshTime();
  setInterval(refreshTime, 30000);

  function updateFooter(status) {
    if (status.generation == null || !$("st-gen")) return;
    $("st-gen").textContent = status.generation;
    if (status.files != null) $("st-files").textContent = number.format(status.files);
    const when = status.last_scan_at || status.scanned_at;
    if (when) $("st-time").setAttribute("datetime", when);
    refreshTime();
  }

  // -- the scan banner -----------------------------------------------------

  const banner = $("banner");
  const bannerText = $("banner-text");
  const bannerAction = $("banner-action");
  let hideTimer = null;

  function atBottom() {
    const page = document.documentElement;
    return window.scrollY + window.innerHeight >= page.scrollHeight - 2;
  }

  // The banner takes its own place below the footer, and stays in view while the
  // page scrolls; someone reading the end of a page stays at the end, above it.
  function showBanner(text, { busy = false, failed = false, action = null, hideAfter = 0 } = {}) {
    clearTimeout(hideTimer);
    const stayAtBottom = banner.hidden && atBottom();
    bannerText.textContent = text;
    banner.classList.toggle("busy", busy);
    banner.classList.toggle("failed", failed);
    banner.dataset.state = failed ? "failed" : busy ? "scanning" : "done";
    bannerAction.hidden = !action;
    if (action) {
      bannerAction.textContent = action.text;
      bannerAction.href = action.href;
    }
    banner.hidden = false;
    if (stayAtBottom) window.scrollTo(window.scrollX, document.documentElement.scrollHeight);
    if (hideAfter) hideTimer = setTimeout(hideBanner, hideAfter);
  }

  function hideBanner() {
    clearTimeout(hideTimer);
    banner.hidden = true;
    banner.dataset.state = "hidden";
  }
  $("banner-close").addEventListener("click", hideBanner);

  // ``complete`` is false while the index served is part of a first walk (the API's
  // ``complete``): what is found is browsable at once, the rest is still coming.
  function scanning(scan, complete, generation) {
    const seen = scan && scan.files_seen ? `${number.format(scan.files_seen)} files seen` : "starting";
    const phase = scan && scan.phase && scan.phase !== "walking" ? ` · ${scan.phase}` : "";
    const progress = $("build-progress");
    if (progress) progress.textContent = seen;
    if (complete !== false) {
      showBanner(`Scanning the library… ${seen}${phase}`, { busy: true });
      return;
    }
    const folders = scan && scan.folders_seen ? ` in ${number.format(scan.folders_seen)} folders` : "";
    const found = scan && scan.files_seen ? `${number.format(scan.files_seen)} files found${folders}` : "starting";
    const more = generation != null && generation !== pageGeneration;
    if (more && kind === "notyet") window.location.reload(); // it may be found now
    showBanner(`Indexing the library… ${found}${phase}; what is found can be browsed already.`, {
      busy: true,
      action: more ? { text: "Show the files found since", href: window.location.href } : null,
    });
  }

  function incomplete(status) {
    const part = status.indexing || {};
    showBanner(`The index is incomplete: ${number.format(part.files || 0)} files so far. ` +
      "The next scan (Rescan) completes it.");
  }

  async function fetchJSON(url, options) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, ...options });
    return { status: response.status, body: await response.json().catch(() => null) };
  }

  // The page was read from one generation; after a swap, say whether it is still current.
  async function checkCurrentView() {
    const viewer = $("viewer");
    if (!viewer) return true;
    try {
      const { status } = await fetchJSON(viewer.dataset.api);
      if (status !== 404) return true;
    } catch (e) {
      return true; // the server is busy or gone; nothing to say about this file
    }
    const notice = $("notice");
    notice.textContent = "This file was removed from the library by the latest scan.";
    const back = document.createElement("a");
    back.href = viewer.dataset.backUrl;
    back.textContent = viewer.dataset.backLabel;
    back.id = "notice-back";
    notice.append(back);
    notice.hidden = false;
    return false;
  }

  async function finished(message) {
    const scan = message.scan || {};
    if ((kind === "building" && message.generation !== null) ||
        (kind === "notyet" && message.generation !== pageGeneration)) {
      window.location.reload();
      return;
    }
    try {
      updateFooter((await fetchJSON("/api/status")).body || {});
    } catch (e) { /* the footer keeps what it showed */ }
    const changes = [];
    if (scan.added) changes.push(`+${number.format(scan.added)}`);
    if (scan.removed) changes.push(`−${number.format(scan.removed)}`);
    if (scan.changed) changes.push(`~${number.format(scan.changed)}`);
    const fresh = message.generation !== null && message.generation !== pageGeneration;
    if (scan.status !== "published" || !fresh) {
      showBanner("Scan finished: nothing changed.", { hideAfter: 4000 });
      return;
    }
    const stillHere = await checkCurrentView();
    const text = `Scan finished: ${number.format(scan.files || 0)} files (${changes.join(" ") || "updated"}).`;
    showBanner(text, {
      hideAfter: 6000,
      action: stillHere ? { text: "Show changes", href: window.location.href } : null,
    });
  }

  function connect() {
    // A share link's pages follow no scans: its recipient may not read /api/events.
    if (!window.EventSource || body.dataset.share) return;
    const events = new EventSource("/api/events");
    events.addEventListener("status", (e) => {
      const status = JSON.parse(e.data);
      if (kind === "building" && status.generation !== null) window.location.reload();
      if (status.scanning) scanning(status.scan, status.complete, status.generation);
      else if (status.complete === false) incomplete(status);
      else if (banner.dataset.state === "scanning") hideBanner();
    });
    const onScan = (e) => {
      const message = JSON.parse(e.data);
      scanning(message.scan, message.complete, message.generation);
    };
    events.addEventListener("started", onScan);
    events.addEventListener("progress", onScan);
    events.addEventListener("finished", (e) => finished(JSON.parse(e.data)));
    // A follower swaps to what its leader published: the same news as a finished scan.
    events.addEventListener("swap", (e) => {
      const swap = JSON.parse(e.data);
      finished({ generation: swap.generation, scan: { status: "published", files: swap.files } });
    });
    events.addEventListener("failed", (e) => {
      const scan = JSON.parse(e.data).scan || {};
      showBanner(`Scan failed: ${scan.error || "unknown error"}. Still showing the last index.`,
        { failed: true });
    });
    // Let the browser end the stream before it leaves the page (no error flash).
    window.addEventListener("pagehide", () => events.close());
  }
  connect();

  // -- the Rescan button ---------------------------------------------------

  const form = $("rescan-form");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const { status, body: answer } = await fetchJSON("/api/rescan", { method: "POST" });
        if (status === 202) {
          if (banner.dataset.state !== "scanning") showBanner("Scan requested…", { busy: true });
        } else {
          const why = answer && answer.error ? answer.error.message : `HTTP ${status}`;
          showBanner(`Could not start a scan: ${why}`, { failed: true });
        }
      } catch (e) {
        showBanner("Could not reach the server.", { failed: true, hideAfter: 6000 });
      }
    });
  }
})();
