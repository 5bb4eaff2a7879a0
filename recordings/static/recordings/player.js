// The operation page's waveform as a seek bar for its player: a slider (role="slider") whose
// value is the playing position in seconds, moved by a click or from the keyboard (arrows:
// 5 s, Page Up/Down: 30 s, Home/End), with a playhead drawn where the audio is.
"use strict";
(function () {
  const STEP = 5;
  const PAGE = 30;

  function init(bar) {
    const audio = document.getElementById(bar.dataset.player);
    if (!audio || bar.dataset.seekReady) return;
    bar.dataset.seekReady = "1";
    const playhead = bar.querySelector(".op-playhead");

    function duration() {
      return Number.isFinite(audio.duration) && audio.duration > 0
        ? audio.duration
        : parseFloat(bar.dataset.duration) || 0;
    }

    function show() {
      const total = duration();
      const now = Math.min(audio.currentTime || 0, total);
      bar.setAttribute("aria-valuemax", total.toFixed(1));
      bar.setAttribute("aria-valuenow", now.toFixed(1));
      bar.setAttribute("aria-valuetext", `${now.toFixed(1)} s of ${total.toFixed(1)} s`);
      if (playhead) playhead.style.left = total ? `${(now / total) * 100}%` : "0";
    }

    function seek(seconds) {
      const total = duration();
      audio.currentTime = Math.max(0, Math.min(total, seconds));
      show();
    }

    bar.addEventListener("click", (event) => {
      const box = bar.getBoundingClientRect();
      if (!box.width) return;
      seek(((event.clientX - box.left) / box.width) * duration());
      bar.focus();
    });
    bar.addEventListener("keydown", (event) => {
      const now = audio.currentTime || 0;
      const moves = {
        ArrowRight: now + STEP,
        ArrowUp: now + STEP,
        ArrowLeft: now - STEP,
        ArrowDown: now - STEP,
        PageUp: now + PAGE,
        PageDown: now - PAGE,
        Home: 0,
        End: duration(),
      };
      if (!(event.key in moves)) return;
      event.preventDefault();
      seek(moves[event.key]);
    });
    ["timeupdate", "loadedmetadata", "seeked", "durationchange"].forEach((name) =>
      audio.addEventListener(name, show)
    );
    show();
  }

  function start() {
    document.querySelectorAll(".op-seek[data-player]").forEach(init);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  // The live updates (live.js) redraw the audio section once the recording is stored.
  document.addEventListener("recorder:updated", start);
})();
