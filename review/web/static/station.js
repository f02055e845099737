// Optional: progress for a bundle upload. Without JavaScript the form posts as it is.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("upload-form");
  var bar = document.getElementById("upload-progress");
  if (!form || !bar || !window.XMLHttpRequest || !window.FormData) {
    return;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) {
        bar.max = progress.total;
        bar.value = progress.loaded;
      }
    });
    request.addEventListener("load", function () {
      // The page the import led to (its notice is shown once): show it as a plain post would.
      if (request.responseURL) {
        window.history.replaceState(null, "", request.responseURL);
      }
      document.open();
      document.write(request.responseText);
      document.close();
    });
    request.addEventListener("error", function () {
      form.submit(); // as without JavaScript
    });
    bar.hidden = false;
    form.querySelector("button").disabled = true;
    request.send(new FormData(form));
  });
});
