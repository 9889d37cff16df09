// Browser upload: each chosen or dropped file joins a queue and goes to the server by resumable
// upload (tus, with the vendored tus-js-client), then is filed as this department's record (agent
// 网页上传) at <the chosen folder>/<the chosen 类别>/<its name>, as an agent would file it, with
// the typed 说明 as a picture's caption. A file chosen again after a reload or a lost connection
// goes on from the server's offset: tus-js-client remembers each file's upload address in
// localStorage and it is asked first. Events are caught on the document, so a form swapped in by
// the live refresh works the same.
(function () {
  if (!window.tus) return;
  var PICTURE = /\.(jpe?g|png|tiff?|bmp|gif|webp|heic)$/i;
  // Two at a time: a third would only share the same link.
  var PARALLEL = 2;
  var queue = [];
  var running = 0;

  function formOf(el) { return el && el.closest ? el.closest("form[data-upload]") : null; }
  function mb(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1048576) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1048576).toFixed(1) + " MB";
  }
  function duration(seconds) {
    if (!isFinite(seconds)) return "";
    if (seconds < 60) return "约剩 " + Math.max(1, Math.round(seconds)) + " 秒";
    if (seconds < 3600) return "约剩 " + Math.round(seconds / 60) + " 分钟";
    return "约剩 " + (seconds / 3600).toFixed(1) + " 小时";
  }

  // The folder the file is filed in: an item's 类别 subfolder, or the item folder itself for 不分类.
  function folderOf(form) {
    var target = form.querySelector("select[name=target]").value;
    var kind = form.querySelector("select[name=kind]");
    return kind && !kind.disabled && kind.value !== "none" ? target + "/" + kind.value : target;
  }

  // An item's file needs its 类别 chosen first: an unclassified item never counts as complete.
  function kindMissing(form) {
    var kind = form.querySelector("select[name=kind]");
    var missing = !!kind && !kind.disabled && !kind.value;
    var problem = form.querySelector(".problem");
    if (problem) problem.textContent = missing ? "请先选择类别（文件、文稿、图片、信息或宣传资料），再选择文件。" : "";
    if (missing) kind.focus();
    return missing;
  }

  // Reports and cases have no 类别: the chooser is only for item folders.
  function syncKind(form) {
    var target = form.querySelector("select[name=target]");
    var kind = form.querySelector("select[name=kind]");
    if (!target || !kind) return;
    var option = target.options[target.selectedIndex];
    kind.disabled = !option || option.getAttribute("data-item") !== "1";
  }

  function enqueue(form, file) {
    var li = document.createElement("li");
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var state = document.createElement("span");
    state.className = "state";
    state.textContent = "排队中";
    li.append(file.name + " ", bar, " ", state);
    form.querySelector(".progress").append(li);
    // Uploads under way: the live refresh must keep this form as it is.
    form.setAttribute("data-dirty", "1");
    var caption = form.querySelector("input[name=caption]");
    queue.push({
      file: file,
      folder: folderOf(form),
      caption: PICTURE.test(file.name) && caption && caption.value.trim() ? caption.value.trim() : null,
      li: li,
      bar: bar,
      state: state
    });
    next();
  }

  function next() {
    while (running < PARALLEL && queue.length) {
      running++;
      send(queue.shift());
    }
    document.body.toggleAttribute("data-uploading", running > 0);
  }

  function done(job, ok, text) {
    job.state.textContent = text;
    job.li.className = ok ? "yes" : "no";
    running--;
    next();
  }

  function send(job) {
    var file = job.file;
    // Speed counts only what is sent now, not what the server had already.
    var started = null;
    var from = 0;
    job.state.textContent = "上传中";
    var upload = new tus.Upload(file, {
      endpoint: "/api/v1/uploads",
      chunkSize: 4 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000],
      metadata: { filename: file.name },
      removeFingerprintOnSuccess: true,
      onProgress: function (sent, total) {
        if (started === null) {
          started = Date.now();
          from = sent;
        }
        var percent = total ? Math.floor((sent * 100) / total) : 100;
        job.bar.value = percent;
        var seconds = (Date.now() - started) / 1000;
        var speed = seconds > 0.5 ? (sent - from) / seconds : 0;
        var text = percent + "%，" + mb(sent) + " / " + mb(total);
        if (speed > 0) text += "，" + mb(speed) + "/秒，" + duration((total - sent) / speed);
        job.state.textContent = text;
      },
      onError: function (e) { done(job, false, "上传失败：" + (e && e.message ? e.message : e) + "。请检查网络后重新选择这个文件，会接着传。"); },
      onSuccess: function (payload) {
        var stored = JSON.parse(payload.lastResponse.getBody());
        var record = {
          path: job.folder + "/" + file.name,
          sha256: stored.sha256,
          size: stored.size,
          modified: new Date(file.lastModified || Date.now()).toISOString()
        };
        if (job.caption) record.caption = job.caption;
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
            job.bar.value = 100;
            done(job, true, "已上传（" + mb(file.size) + "）");
          })
          .catch(function (e) { done(job, false, "未能登记：" + e.message); });
      }
    });
    // The same file begun before (a reload, a lost connection): go on from the server's offset.
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        job.state.textContent = "接着上次的进度上传";
      }
      upload.start();
    });
  }

  function sendAll(form, files) {
    if (kindMissing(form)) return;
    Array.prototype.forEach.call(files, function (f) { enqueue(form, f); });
  }
  document.addEventListener("change", function (e) {
    var form = formOf(e.target);
    if (!form) return;
    if (e.target.type === "file") {
      sendAll(form, e.target.files);
      e.target.value = "";
    } else if (e.target.name === "target") {
      syncKind(form);
    } else if (e.target.name === "kind") {
      kindMissing(form);
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
  // Leaving mid-upload loses nothing (choosing the file again resumes), but says so first.
  window.addEventListener("beforeunload", function (e) {
    if (running > 0 || queue.length) {
      e.preventDefault();
      e.returnValue = "";
    }
  });
  document.querySelectorAll("form[data-upload]").forEach(syncKind);
})();
