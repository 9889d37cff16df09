//! `yingjian-agent service install|uninstall|run`: the agent as a Windows service (the
//! `windows-service` crate), started at boot, restarted by the service manager when it fails,
//! stopped cleanly on a service stop or a shutdown. Elsewhere a service is the init system's
//! business (a systemd unit, docs/install.md), and these commands say so.

#[cfg(not(windows))]
use std::path::Path;

use crate::error::AgentError;
#[cfg(not(windows))]
use crate::error::AgentResult;

#[cfg(windows)]
pub use windows::{install, run, uninstall};

#[cfg(not(windows))]
fn not_here() -> AgentError {
    AgentError::Service(
        "Windows services exist only on Windows: run the agent as a systemd unit (docs/install.md)".into(),
    )
}

#[cfg(not(windows))]
pub fn install(_config: &Path) -> AgentResult<()> {
    Err(not_here())
}

#[cfg(not(windows))]
pub fn uninstall() -> AgentResult<()> {
    Err(not_here())
}

#[cfg(not(windows))]
pub fn run(_config: &Path) -> AgentResult<()> {
    Err(not_here())
}

#[cfg(windows)]
mod windows {
    use std::ffi::{OsStr, OsString};
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, OnceLock};
    use std::time::Duration;

    use windows_service::service::{
        ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
        ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo,
        ServiceStartType, ServiceState, ServiceStatus, ServiceType,
    };
    use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
    use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
    use windows_service::{define_windows_service, service_dispatcher};

    use super::AgentError;
    use crate::config::AgentConfig;
    use crate::error::AgentResult;
    use crate::sync::Agent;

    const NAME: &str = "YingjianAgent";
    const DISPLAY_NAME: &str = "Yingjian agent (迎检材料上传)";
    const DESCRIPTION: &str = "Uploads the department's evidence folder to the city's Yingjian server.";

    /// The config file the service was started with, for `service_main` (which the service
    /// manager calls on a thread of its own, with no way to pass it).
    static CONFIG: OnceLock<PathBuf> = OnceLock::new();

    impl From<windows_service::Error> for AgentError {
        fn from(e: windows_service::Error) -> Self {
            AgentError::Service(format!("{e} (run as administrator?)"))
        }
    }

    pub fn install(config: &Path) -> AgentResult<()> {
        let config = std::path::absolute(config)?;
        // A broken config is refused now, not at the next boot.
        AgentConfig::load(Some(&config))?.token()?;
        let manager = ServiceManager::local_computer(
            None::<&str>,
            ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
        )?;
        let info = ServiceInfo {
            name: NAME.into(),
            display_name: DISPLAY_NAME.into(),
            service_type: ServiceType::OWN_PROCESS,
            start_type: ServiceStartType::AutoStart,
            error_control: ServiceErrorControl::Normal,
            executable_path: std::env::current_exe()?,
            launch_arguments: vec![
                "service".into(),
                "run".into(),
                "--config".into(),
                config.into_os_string(),
            ],
            dependencies: vec![],
            account_name: None,
            account_password: None,
        };
        let service = manager.create_service(&info, ServiceAccess::CHANGE_CONFIG | ServiceAccess::START)?;
        service.set_description(DESCRIPTION)?;
        restart_on_failure(&service)?;
        service.start(&[] as &[&OsStr])?;
        println!("已安装并启动服务 {NAME}：开机自动运行，出错后自动重启。");
        Ok(())
    }

    /// Restarted by the service manager 10 s after a failure, a crash or a non-zero exit.
    fn restart_on_failure(service: &windows_service::service::Service) -> AgentResult<()> {
        let restart =
            ServiceAction { action_type: ServiceActionType::Restart, delay: Duration::from_secs(10) };
        service.update_failure_actions(ServiceFailureActions {
            reset_period: ServiceFailureResetPeriod::After(Duration::from_hours(24)),
            reboot_msg: None,
            command: None,
            actions: Some(vec![restart.clone(), restart.clone(), restart]),
        })?;
        service.set_failure_actions_on_non_crash_failures(true)?;
        Ok(())
    }

    /// The service's own restart actions, set at each start: an installer that made the
    /// service (the MSI's ServiceInstall) cannot set them.
    fn restart_self_on_failure() -> AgentResult<()> {
        let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)?;
        restart_on_failure(&manager.open_service(NAME, ServiceAccess::CHANGE_CONFIG)?)
    }

    pub fn uninstall() -> AgentResult<()> {
        let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)?;
        let service = manager
            .open_service(NAME, ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE)?;
        if service.query_status()?.current_state != ServiceState::Stopped {
            let _ = service.stop();
        }
        service.delete()?;
        println!("已删除服务 {NAME}。");
        Ok(())
    }

    define_windows_service!(ffi_service_main, service_main);

    /// Hands this thread to the service manager until the service stops.
    pub fn run(config: &Path) -> AgentResult<()> {
        let _ = CONFIG.set(config.to_path_buf());
        Ok(service_dispatcher::start(NAME, ffi_service_main)?)
    }

    fn service_main(_arguments: Vec<OsString>) {
        if let Err(e) = serve() {
            tracing::error!(error = %e, "the service stopped with an error");
        }
    }

    fn serve() -> AgentResult<()> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stop = Mutex::new(Some(stop));
        let status = service_control_handler::register(NAME, move |control| match control {
            ServiceControl::Stop | ServiceControl::Shutdown | ServiceControl::Preshutdown => {
                if let Some(stop) = stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
                    let _ = stop.send(());
                }
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        })?;
        let report = |state: ServiceState, accepted: ServiceControlAccept, code: u32| {
            status.set_service_status(ServiceStatus {
                service_type: ServiceType::OWN_PROCESS,
                current_state: state,
                controls_accepted: accepted,
                exit_code: ServiceExitCode::Win32(code),
                checkpoint: 0,
                wait_hint: Duration::default(),
                process_id: None,
            })
        };
        report(ServiceState::Running, ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN, 0)?;
        if let Err(e) = restart_self_on_failure() {
            tracing::warn!(error = %e, "cannot set the service's restart-on-failure actions");
        }
        let result = (|| {
            let config = AgentConfig::load(CONFIG.get().map(PathBuf::as_path))?;
            crate::cli::init_logging(Some(&config.log_folder()));
            tokio::runtime::Runtime::new()?.block_on(async {
                Agent::new(config)
                    .await?
                    .run(async {
                        let _ = stopped.await;
                    })
                    .await
            })
        })();
        // A non-zero exit code makes the service manager apply the failure actions (restart).
        report(ServiceState::Stopped, ServiceControlAccept::empty(), u32::from(result.is_err()))?;
        result
    }
}
