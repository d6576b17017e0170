//! The README's first command, exactly as written, the way a newcomer runs it: read from the
//! README's first code block and run with `bash -c` in the repository root, in its own process
//! group like a terminal's foreground job. It must build what it needs, bring everything up, show
//! the roles as kubectl and IAM see them and wait; Ctrl-C (SIGINT to the whole process group)
//! must then stop everything it started: no process left, no port still listening.
//!
//! Only the environment differs from a newcomer's: SANDBOX_DIR keeps the sandbox's files in a
//! temp dir, and CARGO_TARGET_DIR is the target dir this test was built in. A clean target dir
//! would test a fresh checkout more faithfully but costs minutes of compiling on 2 cores; with
//! the shared one, the command's `cargo build` is a no-op after `make test`'s own build.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::repo;

/// A cold build of the workspace on 2 cores, then moto, kube-sim and the examples becoming Ready.
const READY_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The sandbox stops moto, kube-sim and the operator (SIGKILL after 10 s at worst).
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// The README's first code block, first line that is not a comment.
fn readme_first_command() -> String {
    let readme = std::fs::read_to_string(repo("README.md")).expect("README.md");
    let mut lines = readme.lines().skip_while(|line| !line.starts_with("```"));
    lines.next().expect("README.md has a code block");
    lines
        .take_while(|line| !line.starts_with("```"))
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .expect("README.md's first code block has a command")
        .to_string()
}

/// The target dir this test binary was built in (`<target>/debug/deps/e2e-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo("target"))
}

/// Variables cargo sets for the test binary it runs (not for the builds it starts).
fn set_by_cargo_test(name: &str) -> bool {
    name == "CARGO"
        || name == "OUT_DIR"
        || name == "RUST_RECURSION_COUNT"
        || [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_BIN_",
            "CARGO_CRATE_",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

/// Collects a pipe's bytes on a thread, so the output so far can be read while the command runs
/// (and a process left holding the pipe cannot block the test).
fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&buffer);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .expect("output buffer")
                .extend_from_slice(&chunk[..n]);
        }
    });
    buffer
}

fn text(buffer: &Arc<Mutex<Vec<u8>>>) -> String {
    String::from_utf8_lossy(&buffer.lock().expect("output buffer")).into_owned()
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// The command's process group: stopped (SIGINT, then SIGKILL) if the test ends while it runs,
/// so a failed assertion never leaves a sandbox behind.
struct Group {
    child: Child,
}

impl Group {
    fn pgid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // Only while the leader is unreaped: its pid (= the group id) cannot be anyone else's.
        if self.exited().is_none() {
            signal_group(self.pgid(), "INT");
            if self.wait_exit(Duration::from_secs(15)).is_none() {
                signal_group(self.pgid(), "KILL");
                let _ = self.child.wait();
            }
        }
    }
}

/// Processes still running that belong to the command: in its process group, or naming the
/// sandbox's directory in their command line or environment (e.g. KUBECONFIG).
fn leftovers(pgid: u32, marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let (state, pgrp) = (fields.first().copied(), fields.get(2).copied());
        if state == Some("Z") {
            continue; // exited; holds no port
        }
        let read = |name: &str| {
            std::fs::read(entry.path().join(name))
                .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
                .unwrap_or_default()
        };
        let cmdline = read("cmdline");
        if pgrp == Some(&pgid.to_string())
            || cmdline.contains(marker)
            || read("environ").contains(marker)
        {
            found.push(format!("{pid} {cmdline}"));
        }
    }
    found
}

fn port_after(text: &str, prefix: &str) -> Option<u16> {
    text.split(prefix)
        .nth(1)?
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn readme_first_command_runs_the_sandbox_and_ctrl_c_stops_everything() {
    let command = readme_first_command();
    let dir = tempfile::tempdir().expect("temp dir for the sandbox");
    let work = dir.path().join("sandbox");
    let marker = work.to_string_lossy().into_owned();
    // `env --default-signal` gives the command a terminal job's default SIGINT even if this test
    // runs where SIGINT is ignored (a background job), which children would inherit.
    let mut shell = Command::new("env");
    shell
        .args(["--default-signal=INT,QUIT", "bash", "-c", &command])
        .current_dir(repo("."))
        .env("SANDBOX_DIR", &work)
        .env("CARGO_TARGET_DIR", target_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // A newcomer's shell: not inside another make, no binaries or one-shot mode chosen, and none
    // of the variables cargo sets for a test (CARGO_PKG_NAME, …): ring's build script reruns when
    // those change, and the whole TLS and AWS stack is rebuilt after it.
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        if set_by_cargo_test(name)
            || [
                "MAKEFLAGS",
                "MAKELEVEL",
                "MFLAGS",
                "ROLESMITH_BIN",
                "KUBE_SIM_BIN",
                "FAKE_EKS_BIN",
                "SANDBOX_ONESHOT",
            ]
            .contains(&name)
        {
            shell.env_remove(name);
        }
    }
    let start = Instant::now();
    let mut group = Group {
        child: shell.spawn().expect("bash runs"),
    };
    let stdout = collect(group.child.stdout.take().expect("stdout"));
    let stderr = collect(group.child.stderr.take().expect("stderr"));
    let report = |what: &str| {
        let log = std::fs::read_to_string(work.join("rolesmith.log")).unwrap_or_default();
        format!(
            "`{command}`: {what}\n--- stdout:\n{}\n--- stderr:\n{}\n--- operator log:\n{}",
            text(&stdout),
            text(&stderr),
            crate::harness::tail(&log, 80)
        )
    };

    // Up: the command waits for Ctrl-C once everything runs.
    loop {
        if text(&stdout).contains("Press Ctrl-C") {
            break;
        }
        if let Some(status) = group.exited() {
            std::thread::sleep(Duration::from_millis(200)); // the last output
            panic!(
                "{}",
                report(&format!("exited ({status}) before it was ready"))
            );
        }
        assert!(
            start.elapsed() < READY_TIMEOUT,
            "{}",
            report(&format!("not ready within {READY_TIMEOUT:?}"))
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let ready_after = start.elapsed();
    let out = text(&stdout);

    // One row and one IAM role per IamRole example (the IamPolicy example is attached to one);
    // IAM also holds one role per IamServiceLinkedRole example.
    let texts: Vec<String> = std::fs::read_dir(repo("examples"))
        .expect("examples/")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .collect();
    let examples = texts
        .iter()
        .filter(|text| text.contains("\nkind: IamRole\n"))
        .count();
    let service_linked = texts
        .iter()
        .filter(|text| text.contains("\nkind: IamServiceLinkedRole\n"))
        .count();
    let table: Vec<&str> = out
        .lines()
        .skip_while(|line| !line.starts_with("$ kubectl get iamroles -o wide"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .collect();
    assert!(
        table
            .first()
            .is_some_and(|header| header.starts_with("NAME")
                && header.contains("READY")
                && header.contains("ARN")),
        "{}",
        report("no table of IamRoles")
    );
    assert_eq!(
        table.len() - 1,
        examples,
        "{}",
        report("not one row per example")
    );
    assert!(
        table[1..]
            .iter()
            .all(|row| row.contains("True") && row.contains("arn:aws:iam::123456789012:role/")),
        "{}",
        report("a role is not Ready with its ARN")
    );
    let iam_roles = out
        .lines()
        .filter(|line| line.starts_with("== arn:aws:iam::"))
        .count();
    assert_eq!(
        iam_roles,
        examples + service_linked,
        "{}",
        report("IAM does not show every role")
    );
    for expected in [
        "trust policy:",
        "inline ",
        "attached: arn:aws:iam::aws:policy/",
        "attached: arn:aws:iam::123456789012:policy/rolesmith/default.shared-reports-read",
        "permissions boundary:",
        "tag rolesmith.dev/owner = sandbox/default/",
        "instance profile: arn:aws:iam::123456789012:instance-profile/rolesmith/",
        "AWSServiceRoleForElasticBeanstalk",
    ] {
        assert!(
            out.contains(expected),
            "{}",
            report(&format!("missing {expected:?}"))
        );
    }
    assert!(
        out.contains(&format!(
            "export KUBECONFIG={}",
            work.join("kubeconfig").display()
        )),
        "{}",
        report("no usage")
    );

    // The three servers it started: the API server (kubeconfig), IAM and the operator's metrics.
    let kubeconfig = std::fs::read_to_string(work.join("kubeconfig")).unwrap_or_default();
    let ports = [
        (
            "the API server",
            port_after(&kubeconfig, "http://127.0.0.1:"),
        ),
        (
            "IAM (moto)",
            port_after(&out, "scripts/show-iam.py http://127.0.0.1:"),
        ),
        (
            "the operator's metrics",
            port_after(&out, "curl -s 127.0.0.1:"),
        ),
    ];
    for (what, port) in ports {
        let port = port.unwrap_or_else(|| panic!("{}", report(&format!("no port for {what}"))));
        assert!(
            listening(port),
            "{}",
            report(&format!("{what} is not listening on {port}"))
        );
    }
    let running = leftovers(group.pgid(), &marker);
    assert!(
        running.len() >= 4,
        "{}",
        report(&format!(
            "expected make, the script, moto, kube-sim and the operator: {running:#?}"
        ))
    );

    // Ctrl-C: SIGINT to the whole process group, as a terminal sends it.
    let stop = Instant::now();
    signal_group(group.pgid(), "INT");
    let status = group.wait_exit(STOP_TIMEOUT).unwrap_or_else(|| {
        panic!(
            "{}",
            report(&format!("still running {STOP_TIMEOUT:?} after Ctrl-C"))
        )
    });
    let stopped_after = stop.elapsed();
    std::thread::sleep(Duration::from_millis(200)); // the last output
    assert!(!status.success(), "{}", report("Ctrl-C is not a success"));
    assert!(
        text(&stdout).contains("stopped everything it started"),
        "{}",
        report("no word of stopping")
    );
    let left = leftovers(group.pgid(), &marker);
    assert!(
        left.is_empty(),
        "{}",
        report(&format!("processes left behind: {left:#?}"))
    );
    for (what, port) in ports {
        let port = port.expect("checked above");
        assert!(
            !listening(port),
            "{}",
            report(&format!("{what} still listens on {port}"))
        );
    }
    let cargo = text(&stderr);
    let compiled: Vec<&str> = cargo
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("Compiling "))
        .collect();
    let waited = cargo.contains("Blocking waiting for file lock");
    println!(
        "`{command}`: ready after {ready_after:.1?} (compiled: {compiled:?}{}), stopped {stopped_after:.1?} after Ctrl-C",
        if waited {
            ", waited for another cargo"
        } else {
            ""
        }
    );
}
