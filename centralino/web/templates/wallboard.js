// The supervisor wallboard: numbers updated in place from /supervisore/ws (no reload).
"use strict";
(function () {
  var STATUS = document.getElementById("live-status");

  function duration(seconds) {
    if (seconds === null || seconds === undefined) { return "\u2014"; }
    var rest = seconds % 60;
    return Math.floor(seconds / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function cell(text, numeric) {
    var td = document.createElement("td");
    td.textContent = text;
    if (numeric) { td.className = "num"; }
    return td;
  }

  function showQueues(queues) {
    queues.forEach(function (q) {
      var row = document.getElementById("queue-" + q.slug);
      if (!row) { return; }
      row.querySelectorAll("[data-field]").forEach(function (td) {
        var name = td.getAttribute("data-field");
        td.textContent = name === "longest_wait_seconds" ? duration(q[name]) : String(q[name]);
      });
      row.classList.toggle("waiting-now", q.waiting > 0);
    });
  }

  function showAgents(agents) {
    var body = document.querySelector("#agents tbody");
    var rows = agents.map(function (a) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-agent", String(a.id));
      tr.appendChild(cell(a.name, false));
      tr.appendChild(cell(a.state_label, false));
      tr.appendChild(cell(duration(a.seconds_in_state), true));
      return tr;
    });
    if (rows.length === 0) {
      var tr = document.createElement("tr");
      var td = cell("Nessun operatore.", false);
      td.colSpan = 3;
      tr.appendChild(td);
      rows.push(tr);
    }
    body.replaceChildren.apply(body, rows);
  }

  function showTime(iso) {
    var at = new Date(iso);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    document.getElementById("as-of").textContent =
      pad(at.getHours()) + ":" + pad(at.getMinutes()) + ":" + pad(at.getSeconds());
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/supervisore/ws");
    socket.onopen = function () { STATUS.setAttribute("data-connected", "1"); };
    socket.onmessage = function (event) {
      var board = JSON.parse(event.data);
      showQueues(board.queues);
      showAgents(board.agents);
      showTime(board.as_of);
    };
    socket.onclose = function () {
      STATUS.setAttribute("data-connected", "0");
      // Session over: back to the login page; otherwise try again shortly.
      fetch(location.pathname, {redirect: "manual"}).then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 403) { location.reload(); }
        else { setTimeout(connect, 2000); }
      }, function () { setTimeout(connect, 2000); });
    };
  }

  connect();
})();
