// Follows an import job on its page: polls the imports API, moves the progress bar, and reloads the
// page once the job is done or failed so that the server shows what changed (or why it failed).
"use strict";

(function followImport() {
  const source = document.getElementById("import-job");
  const bar = document.getElementById("job-progress");
  const status = document.getElementById("job-status");
  const phase = document.getElementById("job-phase");
  if (!source || !bar || !status || !phase) {
    return;
  }
  const follow = JSON.parse(source.textContent);
  const finished = new Set(["done", "failed"]);
  if (finished.has(follow.job.status)) {
    return;
  }

  function show(job) {
    const percent = Number(job.progress.percent) || 0;
    bar.value = percent;
    bar.textContent = `${percent}%`;
    status.textContent = follow.labels[job.status] || job.status;
    status.dataset.status = job.status;
    status.className = `job-status status-${job.status}`;
    phase.textContent = finished.has(job.status) ? "" : job.progress.phase;
  }

  async function poll() {
    let job;
    try {
      const response = await fetch(follow.api, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) {
        throw new Error(`the server answered ${response.status}`);
      }
      job = await response.json();
    } catch (error) {
      phase.textContent = `Progress unavailable (${error.message}); reload the page to try again.`;
      return;
    }
    show(job);
    if (finished.has(job.status)) {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, follow.interval);
  }

  window.setTimeout(poll, follow.interval);
})();
