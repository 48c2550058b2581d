//! Where the CPU went during a run, so that no throughput figure is read without its bound:
//! the server's CPU time per operation, the load tool's, and the share of the machine left
//! idle, over the measured window.
//!
//! Read from `/proc` (Linux): the machine from `/proc/stat`, this process from
//! `/proc/self/stat`, the server from `/proc/<pid>/stat`. The server's pid is the one given
//! (`--server-pid`) or, when `--addr` names this machine (a loopback address or `localhost`),
//! the process that listens on its port (`/proc/net/tcp*` gives the socket, `/proc/*/fd` its
//! owner). A remote server gets no server figure; a server in the load tool's own process (the
//! tests) is the load tool, and is not reported apart.
//!
//! No clock-tick constant is assumed: `/proc/stat` counts every core's time in the same ticks
//! as the per-process times, so a process's share of the machine is its ticks over the
//! machine's, times the number of cores.

use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

/// CPU counters at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuSample {
    /// Ticks of every core, all states.
    machine_total: u64,
    /// Ticks of every core spent idle or waiting for I/O.
    machine_idle: u64,
    /// Cores counted in `/proc/stat`.
    cores: usize,
    /// User plus system ticks of this process.
    tool: u64,
    /// User plus system ticks of the server process, if known.
    server: Option<u64>,
}

/// Where the CPU went over the measured window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CpuReport {
    /// Cores of the machine.
    pub cores: usize,
    /// Share of the machine's CPU time left idle (or waiting for I/O), 0 to 1.
    pub machine_idle_share: f64,
    /// Cores the load tool kept busy on average.
    pub tool_cores: f64,
    /// Load-tool CPU per successful operation, microseconds.
    pub tool_us_per_op: f64,
    /// The server process measured, when found.
    pub server_pid: Option<u32>,
    /// Cores the server kept busy on average.
    pub server_cores: Option<f64>,
    /// Server CPU per successful operation, microseconds.
    pub server_us_per_op: Option<f64>,
}

/// Reads the counters now; `None` where `/proc` cannot be read (not Linux).
pub fn sample(server_pid: Option<u32>) -> Option<CpuSample> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let (machine_total, machine_idle, cores) = machine_ticks(&stat)?;
    let tool = process_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
    let server = server_pid
        .and_then(|pid| process_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?));
    Some(CpuSample {
        machine_total,
        machine_idle,
        cores,
        tool,
        server,
    })
}

/// The report between two samples, for `ok` successful operations over `secs` seconds.
pub fn report(
    start: &CpuSample,
    end: &CpuSample,
    server_pid: Option<u32>,
    ok: u64,
    secs: f64,
) -> Option<CpuReport> {
    let total = end.machine_total.checked_sub(start.machine_total)?;
    if total == 0 || secs <= 0.0 {
        return None;
    }
    let idle = end.machine_idle.saturating_sub(start.machine_idle);
    let cores = end.cores.max(1) as f64;
    // A process's share of all the machine's ticks, in cores.
    let cores_of = |ticks: u64| ticks as f64 / total as f64 * cores;
    let per_op = |busy_cores: f64| {
        if ok == 0 {
            0.0
        } else {
            busy_cores * secs / ok as f64 * 1e6
        }
    };
    let tool_cores = cores_of(end.tool.saturating_sub(start.tool));
    let server_cores = match (start.server, end.server) {
        (Some(a), Some(b)) if server_pid != Some(std::process::id()) => {
            Some(cores_of(b.saturating_sub(a)))
        }
        _ => None,
    };
    Some(CpuReport {
        cores: end.cores,
        machine_idle_share: idle as f64 / total as f64,
        tool_cores,
        tool_us_per_op: per_op(tool_cores),
        server_pid: server_cores.and(server_pid),
        server_cores,
        server_us_per_op: server_cores.map(per_op),
    })
}

/// The aggregate `cpu` line of `/proc/stat`: (all ticks, idle + iowait ticks, cores).
fn machine_ticks(stat: &str) -> Option<(u64, u64, usize)> {
    let mut lines = stat.lines();
    let first = lines.next()?;
    let mut fields = first.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let values: Vec<u64> = fields.map_while(|f| f.parse().ok()).collect();
    if values.len() < 5 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let total = values.iter().take(8).sum();
    let idle = values[3] + values[4];
    let cores = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some((total, idle, cores))
}

/// User plus system ticks from a `/proc/<pid>/stat` line (every thread of the process).
fn process_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces: count from after
    // its closing parenthesis, where field 3 (state) starts; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The process listening on `port` of this machine, when `host` names this machine.
pub fn local_server_pid(host: &str, port: u16) -> Option<u32> {
    let local = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !local {
        return None;
    }
    let inodes: Vec<u64> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .flat_map(|table| listening_inodes(&table, port))
        .collect();
    if inodes.is_empty() {
        return None;
    }
    let wanted: Vec<String> = inodes.iter().map(|i| format!("socket:[{i}]")).collect();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if owns_socket(&entry.path(), &wanted) {
            return Some(pid);
        }
    }
    None
}

/// Whether the process whose `/proc` directory is `dir` holds one of the `wanted` sockets.
fn owns_socket(dir: &Path, wanted: &[String]) -> bool {
    let Ok(fds) = std::fs::read_dir(dir.join("fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .ok()
            .and_then(|l| l.to_str().map(str::to_owned))
            .is_some_and(|l| wanted.contains(&l))
    })
}

/// The inodes of the sockets listening on `port` in a `/proc/net/tcp` table.
fn listening_inodes(table: &str, port: u16) -> Vec<u64> {
    const LISTEN: &str = "0A";
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f.get(1)?.rsplit(':').next()?;
            let listening = *f.get(3)? == LISTEN;
            (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                .then(|| f.get(9)?.parse().ok())
                .flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 0 50 800 50 0 0 0 0 0\n\
                        cpu0 50 0 25 400 25 0 0 0 0 0\n\
                        cpu1 50 0 25 400 25 0 0 0 0 0\n\
                        intr 1 2 3\nctxt 99\n";

    #[test]
    fn machine_ticks_count_idle_and_iowait_and_the_cores() {
        assert_eq!(machine_ticks(STAT), Some((1000, 850, 2)));
        assert_eq!(machine_ticks("intr 1\n"), None);
    }

    #[test]
    fn process_ticks_skip_a_command_name_with_spaces_and_parentheses() {
        let line = "4242 (kmsd (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
                    700 300 0 0 20 0 9 0 12345 0 0";
        assert_eq!(process_ticks(line), Some(1000));
        assert_eq!(process_ticks("garbage"), None);
    }

    #[test]
    fn shares_and_per_operation_costs() {
        let start = CpuSample {
            machine_total: 1000,
            machine_idle: 500,
            cores: 2,
            tool: 100,
            server: Some(200),
        };
        // Over 10 s, the machine counted 2000 ticks (2 cores x 100 Hz x 10 s): the server
        // took 1000 of them (one core), the tool 400, idle 300.
        let end = CpuSample {
            machine_total: 3000,
            machine_idle: 800,
            tool: 500,
            server: Some(1200),
            ..start
        };
        let r = report(&start, &end, Some(1), 100_000, 10.0).expect("a report");
        assert!((r.machine_idle_share - 0.15).abs() < 1e-9);
        assert!((r.server_cores.unwrap() - 1.0).abs() < 1e-9);
        // One core for 10 s over 100,000 operations: 100 microseconds each.
        assert!((r.server_us_per_op.unwrap() - 100.0).abs() < 1e-6);
        assert!((r.tool_cores - 0.4).abs() < 1e-9);
        assert!((r.tool_us_per_op - 40.0).abs() < 1e-6);
        // The server is this very process (the tests' in-process server): not apart.
        let own = report(&start, &end, Some(std::process::id()), 100_000, 10.0).unwrap();
        assert_eq!(own.server_cores, None);
        assert_eq!(own.server_pid, None);
    }

    #[test]
    fn listening_sockets_are_found_by_port() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1650 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31337 1 0 100 0 0 10 0\n\
   1: 0100007F:1650 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 31338 1 0 100 0 0 10 0\n\
   2: 0100007F:1651 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 31339 1 0 100 0 0 10 0\n";
        assert_eq!(listening_inodes(table, 0x1650), vec![31337]);
        assert_eq!(listening_inodes(table, 5696), Vec::<u64>::new());
    }

    #[test]
    fn a_remote_server_is_not_looked_for() {
        assert_eq!(local_server_pid("kms.example", 5696), None);
        assert_eq!(local_server_pid("10.0.0.1", 5696), None);
    }

    #[test]
    fn this_process_is_found_listening_on_its_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert_eq!(
            local_server_pid("127.0.0.1", port),
            Some(std::process::id())
        );
        assert!(sample(Some(std::process::id())).is_some());
    }
}
