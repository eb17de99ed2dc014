// The review page's keyboard and its decisions, sent to /api/decisions without a reload.
"use strict";
(function () {
  const item = document.getElementById("item");
  if (!item) return;
  const token = document.querySelector("meta[name=review-token]").content;
  const $ = (id) => document.getElementById(id);
  const points = $("points"), comment = $("comment"), status = $("status");

  function go(which) {
    const target = item.dataset[which];
    if (target) window.location.assign(target);
  }

  function members() {
    return Array.from(document.querySelectorAll("#group input.member:checked")).map((box) => box.value);
  }

  async function send(kind, chosenPoints, others) {
    const body = {key: item.dataset.key, item: item.dataset.item, kind: kind, comment: comment.value,
                  with: others === undefined ? members() : others};
    if (kind === "override") body.points = chosenPoints;
    const response = await fetch("/api/decisions", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-Review-Token": token}, body: JSON.stringify(body)});
    const answer = await response.json();
    if (!response.ok) {
      status.textContent = "Not recorded: " + answer.error;
      status.className = "status error";
      return null;
    }
    const first = answer.recorded[0];
    const many = answer.recorded.length > 1 ? ` (and ${answer.recorded.length - 1} like it)` : "";
    status.textContent = {accept: "Accepted", override: "Decided", withdraw: "Withdrawn: back to"}[kind] +
      `: ${first.points} by ${first.who}${many}`;
    status.className = "status done";
    $("decided").textContent = answer.progress.decided;
    document.querySelector("#progress progress").value = answer.progress.decided;
    $("withdraw").disabled = kind === "withdraw";
    return answer;
  }

  function offer(suggested) {
    const list = $("suggested-list");
    list.replaceChildren();
    for (const other of suggested) {
      const row = document.createElement("li");
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox"; box.checked = true; box.value = other.key;
      const text = document.createElement("span");
      text.textContent = ` ${other.label}: ${other.text.slice(0, 240)}`;  // text, never markup
      label.append(box, text);
      row.append(label);
      list.append(row);
    }
    $("suggested").hidden = suggested.length === 0;
  }

  async function save() {
    const value = Number(points.value);
    if (points.value === "" || Number.isNaN(value)) {
      status.textContent = "Give a score first.";
      return;
    }
    const answer = await send("override", value);
    if (!answer) return;
    if (answer.suggested.length) offer(answer.suggested);  // stay: the person chooses whom it applies to
    else go("next");
  }

  async function accept() {
    points.value = item.dataset.automatic;
    if (await send("accept")) go("next");
  }

  async function applySuggested() {
    const chosen = Array.from(document.querySelectorAll("#suggested-list input:checked")).map((box) => box.value);
    if (!chosen.length) return;
    const answer = await send("override", Number(points.value), chosen);
    if (answer) { $("suggested").hidden = true; go("next"); }
  }

  function toggleNames() {
    const shown = $("names").dataset.shown === "1";
    document.cookie = `grader_names=${shown ? 0 : 1}; path=/; samesite=strict`;
    window.location.reload();
  }

  function toggleGroup() {
    const all = $("group-all");
    if (!all) return;
    all.checked = !all.checked;
    all.dispatchEvent(new Event("change"));
  }

  $("decision").addEventListener("submit", (event) => { event.preventDefault(); save(); });
  $("accept").addEventListener("click", accept);
  $("withdraw").addEventListener("click", () => send("withdraw"));
  $("apply-suggested").addEventListener("click", applySuggested);
  $("names").addEventListener("click", toggleNames);
  $("help-button").addEventListener("click", () => { $("help").hidden = !$("help").hidden; });
  const all = $("group-all");
  if (all) all.addEventListener("change", () => {
    for (const box of document.querySelectorAll("#group input.member")) box.checked = all.checked;
  });

  const keys = {j: () => go("next"), ArrowRight: () => go("next"), k: () => go("previous"),
    ArrowLeft: () => go("previous"), a: accept, u: () => send("withdraw"), g: toggleGroup, y: applySuggested,
    n: toggleNames, "?": () => { $("help").hidden = !$("help").hidden; },
    s: () => { points.focus(); points.select(); }, c: () => comment.focus()};
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = ["INPUT", "TEXTAREA"].includes(document.activeElement.tagName) &&
      document.activeElement.type !== "checkbox";
    if (event.key === "Escape") { document.activeElement.blur(); $("help").hidden = true; return; }
    if (typing) return;  // Enter in the score box submits the form
    const action = keys[event.key];
    if (action) { event.preventDefault(); action(); }
  });
})();
