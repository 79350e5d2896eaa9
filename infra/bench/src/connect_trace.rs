//! Reads the `connect(2)` calls out of `strace -f -ttt -e trace=connect -o FILE` output, to tell whether
//! a function made a network call during init.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Who a `connect` call was aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// 127.0.0.1 on the emulator's port: the function asking for events.
    RuntimeApi,
    /// An `AF_UNIX` socket (nscd and the like): local, not a network call.
    UnixSocket,
    /// Anything else: a network call.
    Network,
}

/// One `connect` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Connect {
    /// Seconds since the Unix epoch, as strace's `-ttt` prints them.
    pub at: f64,
    pub peer: Peer,
    /// The call as strace printed it, from `connect(` on.
    pub call: String,
}

impl fmt::Display for Connect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6} {}", self.at, self.call)
    }
}

/// The `connect` calls in strace output, in order. `runtime_api_port` is the emulator's port.
pub fn parse(strace_output: &str, runtime_api_port: u16) -> Vec<Connect> {
    let runtime_api = format!("htons({runtime_api_port})");
    strace_output
        .lines()
        // The address is on the `<unfinished ...>` half of a call interrupted by another thread.
        .filter(|line| !line.contains("resumed>"))
        .filter_map(|line| {
            let start = line.find("connect(")?;
            let at = line[..start].split_whitespace().last()?.parse::<f64>().ok()?;
            let call = line[start..].trim_end().to_owned();
            let peer = if call.contains("AF_UNIX") {
                Peer::UnixSocket
            } else if call.contains(&runtime_api) && call.contains("\"127.0.0.1\"") {
                Peer::RuntimeApi
            } else {
                Peer::Network
            };
            Some(Connect { at, peer, call })
        })
        .collect()
}

/// `time` in strace's `-ttt` scale.
pub fn epoch_seconds(time: SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = r#"4101  1764147600.100000 connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
4103  1764147600.200000 connect(9, {sa_family=AF_INET, sin_port=htons(9), sin_addr=inet_addr("127.0.0.1")}, 16 <unfinished ...>
4101  1764147600.200100 <... connect resumed>) = -1 ECONNREFUSED (Connection refused)
4102  1764147600.300000 connect(10, {sa_family=AF_INET, sin_port=htons(41234), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
4101  1764147600.400000 +++ killed by SIGKILL +++
"#;

    #[test]
    fn classifies_each_connect_by_peer() {
        let connects = parse(OUTPUT, 41234);
        let peers: Vec<Peer> = connects.iter().map(|c| c.peer).collect();
        assert_eq!(peers, [Peer::UnixSocket, Peer::Network, Peer::RuntimeApi]);
        assert_eq!(connects[1].at, 1_764_147_600.2);
        assert!(connects[1].call.starts_with("connect(9, {sa_family=AF_INET, sin_port=htons(9)"));
    }

    #[test]
    fn the_runtime_api_is_matched_by_its_port() {
        let connects = parse(OUTPUT, 9);
        assert_eq!(connects[1].peer, Peer::RuntimeApi);
        assert_eq!(connects[2].peer, Peer::Network);
    }
}
