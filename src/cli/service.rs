//! `syndic serve` as a service: sockets passed by systemd, the server
//! start, and the signals (SIGTERM/SIGINT stop, SIGHUP reloads).

use crate::*;

/// The listening sockets systemd passed (`syndic.socket`): the public one
/// and, when a second is passed, the admin one.
#[derive(Default)]
pub(crate) struct Activated {
    public: Option<std::net::TcpListener>,
    admin: Option<std::net::TcpListener>,
}

pub(crate) fn activated_listener() -> anyhow::Result<Activated> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(Activated::default());
    }
    let public = fds.take_tcp_listener(0).context(
        "LISTEN_FDS is set but fd 3 is not a TCP listening socket (check syndic.socket)",
    )?;
    let admin = if fds.len() > 1 {
        fds.take_tcp_listener(1).context(
            "LISTEN_FDS passes a second socket, but fd 4 is not a TCP listening socket \
             (check syndic.socket)",
        )?
    } else {
        None
    };
    Ok(Activated { public, admin })
}

/// A socket systemd passed, made ready for tokio.
pub(crate) fn adopt(listener: std::net::TcpListener) -> anyhow::Result<tokio::net::TcpListener> {
    listener
        .set_nonblocking(true)
        .context("preparing the socket systemd passed")?;
    tracing::info!(addr = ?listener.local_addr().ok(), "using the socket systemd passed");
    tokio::net::TcpListener::from_std(listener).context("using the socket systemd passed")
}

pub(crate) async fn serve(
    config: Config,
    store: Store,
    listen: Option<std::net::SocketAddr>,
    activated: Activated,
) -> anyhow::Result<ExitCode> {
    let (listener, asked) = match activated.public {
        Some(listener) => {
            let listener = adopt(listener)?;
            let asked = listener.local_addr().unwrap_or(config.daemon.listen);
            (listener, asked)
        }
        None => {
            let addr = listen.unwrap_or(config.daemon.listen);
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
                format!("cannot listen on {addr} (set [daemon] listen or pass --listen)")
            })?;
            (listener, addr)
        }
    };
    let admin = match activated.admin {
        Some(admin) => Some(adopt(admin)?),
        None => daemon::bind_admin(&config.daemon, asked).await?,
    };
    let app = App::with_notifier(config, store, syndic::notify::Notifier::from_env())?;
    let shutdown = CancellationToken::new();
    tokio::spawn(handle_signals(app.clone(), shutdown.clone()));
    daemon::serve(app, listener, admin, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM and SIGINT stop the daemon gracefully; SIGHUP reloads the config.
pub(crate) async fn handle_signals(app: std::sync::Arc<App>, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => {
                tracing::info!(signal = "SIGTERM", "stopping");
                break;
            }
            _ = int.recv() => {
                tracing::info!(signal = "SIGINT", "stopping");
                break;
            }
            _ = hup.recv() => {
                tracing::info!(signal = "SIGHUP", "reloading the configuration");
                // Errors are logged by reload; the old config keeps running.
                let _ = daemon::reload(&app).await;
            }
        }
    }
    shutdown.cancel();
}
