"""Operations: what runs synthgov unattended, nightly and when new source data lands.

- `server`: starts a local Prefect server (or uses the one PREFECT_API_URL names) and waits for it;
- `deploy`: creates the work pool and the deployments that prefect.yaml declares (the nightly's
  cron schedule, the new-source event trigger, their concurrency limits) for one workspace;
- `watcher`: the new-source detector: files in the workspace's incoming folder, once completely
  written, are moved under their content hash and announced by a Prefect event;
- `serve`: all of it in one command (`synthgov serve`), with a process worker, until Ctrl-C.

The package may import synthgov.params, synthgov.atomic and the flows it deploys.
"""
