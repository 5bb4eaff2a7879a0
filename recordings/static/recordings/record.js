// The Record page's prompt list: add, remove and reorder rows of the Django formset.
// Rows keep their form index; their order is the hidden ORDER field, renumbered here.
"use strict";
(function () {
  function init() {
    const table = document.getElementById("prompt-table");
    if (!table) return;
    const rows = document.getElementById("prompt-rows");
    const template = document.getElementById("prompt-template");
    const total = document.getElementById("id_prompts-TOTAL_FORMS");
    const maxPrompts = parseInt(table.dataset.maxPrompts, 10) || Infinity;
    const fieldset = table.closest("fieldset");
    document.body.classList.add("prompts-js");

    function liveRows() {
      return Array.from(rows.querySelectorAll("tr.prompt-row")).filter(
        (row) => !row.classList.contains("deleted")
      );
    }

    function renumber() {
      const live = liveRows();
      live.forEach((row, index) => {
        row.querySelector(".prompt-number").textContent = index + 1 + ".";
        const order = row.querySelector("input[name$='-ORDER']");
        if (order) order.value = index + 1;
        row.querySelector(".prompt-up").disabled = index === 0;
        row.querySelector(".prompt-down").disabled = index === live.length - 1;
      });
      fieldset.classList.toggle("empty", live.length === 0);
      const full = live.length >= maxPrompts;
      fieldset.classList.toggle("full", full);
      fieldset.querySelectorAll("[data-add-prompt]").forEach((button) => {
        button.disabled = full;
      });
    }

    function setKind(row, kind) {
      row.dataset.kind = kind;
      row.classList.toggle("kind-media", kind === "media");
      row.classList.toggle("kind-silence", kind === "silence");
      row.querySelector("input[name$='-kind']").value = kind;
    }

    function linkLibraryAndUri(row) {
      // An uploaded prompt or a typed URI, not both: picking one sets the other aside.
      const library = row.querySelector("select[name$='-library_prompt']");
      const uri = row.querySelector("input[name$='-uri']");
      if (!library || !uri) return;
      const sync = () => {
        uri.disabled = library.value !== "";
        if (uri.disabled) uri.value = "";
      };
      library.addEventListener("change", sync);
      sync();
    }

    function addRow(kind) {
      const index = parseInt(total.value, 10);
      const html = template.innerHTML.replace(/__prefix__/g, String(index));
      const holder = document.createElement("tbody");
      holder.innerHTML = html.trim();
      const row = holder.firstElementChild;
      setKind(row, kind);
      rows.appendChild(row);
      total.value = index + 1;
      linkLibraryAndUri(row);
      renumber();
      const first = row.querySelector(kind === "silence" ? "input[name$='-duration_ms']" : "select, input[type=url]");
      if (first) first.focus();
    }

    fieldset.addEventListener("click", (event) => {
      const button = event.target.closest("button");
      if (!button) return;
      if (button.dataset.addPrompt) {
        addRow(button.dataset.addPrompt);
        return;
      }
      const row = button.closest("tr.prompt-row");
      if (!row) return;
      if (button.classList.contains("prompt-remove")) {
        row.querySelector("input[name$='-DELETE']").checked = true;
        row.classList.add("deleted");
        row.hidden = true;
      } else if (button.classList.contains("prompt-up")) {
        const live = liveRows();
        const before = live[live.indexOf(row) - 1];
        if (before) rows.insertBefore(row, before);
      } else if (button.classList.contains("prompt-down")) {
        const live = liveRows();
        const after = live[live.indexOf(row) + 1];
        if (after) rows.insertBefore(after, row);
      }
      renumber();
    });

    // With scripts on, removing is a button; rows the server sent back removed stay hidden.
    rows.querySelectorAll("tr.prompt-row").forEach((row) => {
      const remove = row.querySelector("input[name$='-DELETE']");
      if (remove && remove.checked) {
        row.classList.add("deleted");
        row.hidden = true;
      }
      linkLibraryAndUri(row);
    });
    template.content.querySelectorAll(".prompt-delete").forEach((label) => {
      label.insertAdjacentHTML(
        "afterend",
        '<button type="button" class="button prompt-remove">Remove</button>'
      );
    });
    rows.querySelectorAll(".prompt-delete").forEach((label) => {
      label.insertAdjacentHTML(
        "afterend",
        '<button type="button" class="button prompt-remove">Remove</button>'
      );
    });
    renumber();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
