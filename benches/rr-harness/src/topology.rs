//! The two network namespaces of a run, joined by one veth link:
//!
//! ```text
//!  reflector  10.50.255.254/24 ----veth---- 10.50.255.1/24  harness
//!             10.50.0.0/16 via 10.50.255.1                  10.50.0.1/32        loadgen
//!                                                           10.50.0.2/32 ...    clients 1..K
//! ```
//!
//! The harness side holds one /32 per session; the reflector reaches them
//! all through one gateway, so its neighbour table has one entry however
//! large K is. Everything is torn down when the [`Topology`] (its
//! [`Lab`]) is dropped, also on panic.

use std::net::Ipv4Addr;

use reflex_testlab::{Host, Lab, LabError};

/// The reflector's address (its router ID and cluster ID too).
pub const REFLECTOR: Ipv4Addr = Ipv4Addr::new(10, 50, 255, 254);
/// The harness end of the link, the reflector's gateway to the sessions.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 50, 255, 1);
/// The loadgen's address.
pub const LOADGEN: Ipv4Addr = Ipv4Addr::new(10, 50, 0, 1);
/// The range every harness session comes from.
pub const SESSIONS_RANGE: &str = "10.50.0.0/16";
/// Most clients the address plan has room for.
pub const MAX_CLIENTS: usize = 60_000;

/// Address of client `i` (from 0): 10.50.0.2, 10.50.0.3, ...
pub fn client_address(i: usize) -> Ipv4Addr {
    assert!(i < MAX_CLIENTS, "at most {MAX_CLIENTS} clients");
    Ipv4Addr::from(u32::from(LOADGEN) + 1 + i as u32)
}

/// A built topology.
#[derive(Debug)]
pub struct Topology {
    /// The lab; dropping it removes everything.
    pub lab: Lab,
    /// The reflector's namespace.
    pub reflector: Host,
    /// The harness's namespace (loadgen and clients).
    pub harness: Host,
    /// The client addresses.
    pub clients: Vec<Ipv4Addr>,
}

impl Topology {
    /// Create the namespaces, the link, the route and K+1 addresses.
    pub fn build(k: usize) -> Result<Topology, LabError> {
        let mut lab = Lab::new("rr-bench")?;
        let reflector = lab.host("rr")?;
        let harness = lab.host("hx")?;
        let (_, harness_if) = lab.link(
            &reflector,
            &format!("{REFLECTOR}/24"),
            &harness,
            &format!("{GATEWAY}/24"),
        )?;
        reflector.run(&[
            "ip",
            "route",
            "add",
            SESSIONS_RANGE,
            "via",
            &GATEWAY.to_string(),
        ])?;
        let clients: Vec<Ipv4Addr> = (0..k).map(client_address).collect();
        let batch: String = std::iter::once(LOADGEN)
            .chain(clients.iter().copied())
            .map(|a| format!("address add {a}/32 dev {harness_if}\n"))
            .collect();
        let file = lab.write_file("addresses.batch", &batch)?;
        harness.run(&["ip", "-batch", &file.to_string_lossy()])?;
        Ok(Topology {
            lab,
            reflector,
            harness,
            clients,
        })
    }

    /// Is something listening on TCP port 179 in the reflector's namespace?
    pub fn reflector_listening(&self) -> bool {
        self.reflector
            .run(&["ss", "-Hltn", "sport = :179"])
            .map(|out| !out.trim().is_empty())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_addresses_follow_the_loadgen_and_stay_in_range() {
        assert_eq!(client_address(0), Ipv4Addr::new(10, 50, 0, 2));
        assert_eq!(client_address(999), Ipv4Addr::new(10, 50, 3, 233));
        let last = client_address(MAX_CLIENTS - 1);
        assert!(last < Ipv4Addr::new(10, 50, 255, 0));
    }
}
