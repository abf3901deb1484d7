// mediasrv: the song viewer's player (_song.html).
//
// When a song ends, the next song of the grid's order plays in place: the page fetches the
// next viewer page, takes its song and the parts that name the file, and points the same
// <audio> element at it. The same element, never a new page: a phone's lock screen and
// headphone keys keep one player, and no browser's autoplay rule can stop the queue (the
// listener started the first song). Files that are not songs (a cover.jpg, liner notes)
// are skipped. "Play the next song" turns this off, remembered in localStorage.
// Media Session: the lock screen and notification show title, artist, album and cover;
// play, pause, previous and next track work from there and from headphone keys.
(() => {
  "use strict";

  const song = document.getElementById("song");
  const audio = document.getElementById("media");
  const toggle = document.getElementById("continue");
  if (!song || !audio || audio.tagName !== "AUDIO") return;

  const KEY = "mediasrv.continue";
  const SKIP_AT_MOST = 50; // files that are not songs passed over to find the next song
  const RESTART_AFTER_S = 3; // "previous" past this point starts the song again
  // The parts of the page that name the viewed file, refilled from the next page.
  const PARTS = ["#back", "#name", ".stepper", ".info", "#details", "#star"];

  toggle.checked = localStorage.getItem(KEY) !== "off";
  // The toggle is the song's own control, not a gesture on the stage (which may capture the
  // pointer for its zoom and swipes, and then the click never reaches the checkbox).
  toggle.closest("label").addEventListener("pointerdown", (event) => event.stopPropagation());
  toggle.addEventListener("change", () => localStorage.setItem(KEY, toggle.checked ? "on" : "off"));

  // What the queue is doing, for people reading the page with tools (and for the tests).
  const state = (value) => { song.dataset.queue = value; };
  state("idle");

  const absolute = (href) => new URL(href, window.location.href).href;

  async function page(url) {
    const resp = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
    if (!resp.ok) throw new Error(`${url}: HTTP ${resp.status}`);
    return new DOMParser().parseFromString(await resp.text(), "text/html");
  }

  // The viewer page after ("next") or before ("prev") the shown one; with songsOnly, the first
  // such page that is a song. null at the end of the list.
  async function neighbour(rel, songsOnly) {
    let link = document.getElementById(rel);
    for (let hops = 0; link && link.getAttribute("href") && hops <= SKIP_AT_MOST; hops += 1) {
      const url = absolute(link.getAttribute("href"));
      const doc = await page(url);
      if (!songsOnly || doc.getElementById("song")) return { url, doc };
      link = doc.getElementById(rel);
    }
    return null;
  }

  function text(root, selector) {
    const el = root.querySelector(selector);
    return el ? el.textContent.trim() : "";
  }

  // `old` made to read as `fresh` (attributes and content), staying the same element: other
  // scripts keep their hands on it (the details panel's toggle, the star's state).
  function refill(old, fresh) {
    for (const { name } of Array.from(old.attributes)) {
      if (!fresh.hasAttribute(name)) old.removeAttribute(name);
    }
    for (const { name, value } of Array.from(fresh.attributes)) {
      if (name !== "hidden" || old.id !== "details") old.setAttribute(name, value); // open stays open
    }
    old.replaceChildren(...Array.from(fresh.childNodes, (node) => document.importNode(node, true)));
  }

  function replace(selector, doc) {
    const old = document.querySelector(selector);
    const fresh = doc.querySelector(selector);
    if (old && fresh) refill(old, fresh);
  }

  // Show the song of the viewer page `doc` (at `url`) in this page, in the same player.
  function show({ url, doc }) {
    const fresh = doc.getElementById("song");
    const cover = document.getElementById("cover");
    const freshCover = doc.getElementById("cover");
    cover.setAttribute("src", freshCover.getAttribute("src"));
    cover.setAttribute("srcset", freshCover.getAttribute("srcset") || "");
    replace("#song-tags", fresh);
    audio.src = doc.getElementById("media").getAttribute("src");
    for (const selector of PARTS) replace(selector, doc);
    const stage = document.getElementById("stage");
    if (stage) {
      stage.querySelectorAll(":scope > .step").forEach((el) => el.remove());
      doc.querySelectorAll("#stage > .step").forEach((el) => stage.append(document.importNode(el, true)));
    }
    const viewer = document.getElementById("viewer");
    const freshViewer = doc.getElementById("viewer");
    if (viewer && freshViewer) Object.assign(viewer.dataset, freshViewer.dataset);
    document.title = doc.title;
    history.replaceState(history.state, "", url);
    describe();
  }

  async function play() {
    try {
      await audio.play();
    } catch (e) {
      // Refused (a browser that wants a tap for each song): the player shows it paused, ▶ plays.
      state("paused");
    }
  }

  let upcoming = null; // the next song's page, fetched while this one plays

  async function step(rel, { songsOnly }) {
    const found = rel === "next" && songsOnly && upcoming ? await upcoming : await neighbour(rel, songsOnly);
    upcoming = null;
    if (!found) return false;
    if (!found.doc.getElementById("song")) { // a photo or a video: go there as → would
      window.location.href = found.url;
      return true;
    }
    show(found);
    await play();
    return true;
  }

  audio.addEventListener("playing", () => {
    state("playing");
    if (!upcoming && toggle.checked) upcoming = neighbour("next", true).catch(() => null);
  });
  audio.addEventListener("ended", async () => {
    if (!toggle.checked) { state("stopped"); return; }
    state("advancing");
    let went = false;
    try { went = await step("next", { songsOnly: true }); } catch (e) { /* offline: stop here */ }
    if (!went) state("stopped");
  });

  // ← → and the ‹ › links while a song plays: the neighbour plays in place too.
  function stepWhilePlaying(rel, event) {
    if (audio.paused) return; // a quiet page steps as any other
    event.preventDefault();
    step(rel, { songsOnly: false }).catch(() => {
      const link = document.getElementById(rel);
      if (link) window.location.href = link.href;
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable], audio")) return;
    if (event.key === "ArrowRight") stepWhilePlaying("next", event);
    if (event.key === "ArrowLeft") stepWhilePlaying("prev", event);
  }, true); // before app.js, which would leave the page
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("#next, #prev, .step-next, .step-prev");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    stepWhilePlaying(link.matches("#next, .step-next") ? "next" : "prev", event);
  });

  // -- Media Session: lock screens, notifications, headphone keys --------------------

  function describe() {
    if (!("mediaSession" in navigator) || typeof MediaMetadata === "undefined") return;
    const cover = document.getElementById("cover");
    const src = absolute(cover.getAttribute("src"));
    navigator.mediaSession.metadata = new MediaMetadata({
      title: text(song, ".song-title"),
      artist: text(song, ".song-artist"),
      album: text(song, ".song-album"),
      artwork: [
        { src, sizes: "320x320" },
        { src: `${src}${src.includes("?") ? "&" : "?"}w=640`, sizes: "640x640" },
      ],
    });
  }

  if ("mediaSession" in navigator) {
    const handlers = {
      play: () => play(),
      pause: () => audio.pause(),
      previoustrack: () => {
        if (audio.currentTime > RESTART_AFTER_S) { audio.currentTime = 0; return; }
        step("prev", { songsOnly: true }).catch(() => {});
      },
      nexttrack: () => { step("next", { songsOnly: true }).catch(() => {}); },
    };
    for (const [action, handler] of Object.entries(handlers)) {
      try { navigator.mediaSession.setActionHandler(action, handler); } catch (e) { /* not offered here */ }
    }
  }
  describe();
})();
