// Browser upload: each chosen or dropped file goes to the server by resumable upload (tus, with
// the vendored tus-js-client), then is filed as this department's record (agent 网页上传) at
// <the chosen folder>/<its name>, as an agent would file it. Events are caught on the document,
// so a form swapped in by the live refresh works the same.
(function () {
  if (!window.tus) return;
  function formOf(el) { return el && el.closest ? el.closest("form[data-upload]") : null; }

  function send(form, file) {
    var target = form.querySelector("select[name=target]").value;
    var li = document.createElement("li");
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var state = document.createElement("span");
    state.className = "state";
    state.textContent = "上传中";
    li.append(file.name + " ", bar, " ", state);
    form.querySelector(".progress").append(li);
    // Uploads under way: the live refresh must keep this form as it is.
    form.setAttribute("data-dirty", "1");
    var fail = function (what) {
      state.textContent = what;
      li.className = "no";
    };
    new tus.Upload(file, {
      endpoint: "/api/v1/uploads",
      chunkSize: 4 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      metadata: { filename: file.name },
      onProgress: function (sent, total) { bar.value = total ? Math.floor((sent * 100) / total) : 100; },
      onError: function (e) { fail("上传失败：" + (e && e.message ? e.message : e)); },
      onSuccess: function (payload) {
        var stored = JSON.parse(payload.lastResponse.getBody());
        var record = {
          path: target + "/" + file.name,
          sha256: stored.sha256,
          size: stored.size,
          modified: new Date(file.lastModified || Date.now()).toISOString()
        };
        fetch("/api/v1/evidence", {
          method: "PUT",
          credentials: "same-origin",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(record)
        })
          .then(function (r) {
            if (r.ok) return;
            return r.json().then(function (b) { throw new Error(b.message); });
          })
          .then(function () {
            bar.value = 100;
            state.textContent = "已上传";
            li.className = "yes";
          })
          .catch(function (e) { fail("未能登记：" + e.message); });
      }
    }).start();
  }

  function sendAll(form, files) { Array.prototype.forEach.call(files, function (f) { send(form, f); }); }
  document.addEventListener("change", function (e) {
    var form = formOf(e.target);
    if (form && e.target.type === "file") {
      sendAll(form, e.target.files);
      e.target.value = "";
    }
  });
  document.addEventListener("dragover", function (e) {
    var form = formOf(e.target);
    if (form) {
      e.preventDefault();
      form.classList.add("over");
    }
  });
  document.addEventListener("dragleave", function (e) {
    var form = formOf(e.target);
    if (form) form.classList.remove("over");
  });
  document.addEventListener("drop", function (e) {
    var form = formOf(e.target);
    if (form) {
      e.preventDefault();
      form.classList.remove("over");
      sendAll(form, e.dataTransfer.files);
    }
  });
  document.addEventListener("submit", function (e) { if (e.target.hasAttribute && e.target.hasAttribute("data-upload")) e.preventDefault(); });
})();
