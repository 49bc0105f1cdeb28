//! The network a request comes from, as fairness among clients without a key counts them:
//! browser forms wait for their fields before anyone knows who signed them, so the only thing
//! that tells one client's waiting forms from another's is where they come from.

use std::net::{IpAddr, Ipv6Addr};

/// An IPv4 address, or an IPv6 /64: the smallest network an IPv6 host is usually given, so a
/// client drawing new addresses from its own /64 still counts as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientNet {
    V4([u8; 4]),
    V6([u8; 8]),
}

impl ClientNet {
    /// The network of a socket address as Envoy spells it (`source.address`): `1.2.3.4:5678`
    /// or `[2001:db8::1]:5678`, or an address without its port. `None` for anything else (a
    /// pipe's path, an internal listener's name): such clients are one network together.
    pub fn parse(address: &[u8]) -> Option<Self> {
        let address = std::str::from_utf8(address).ok()?;
        let host = match address.strip_prefix('[') {
            Some(rest) => rest.split_once(']')?.0,
            None => match address.rsplit_once(':') {
                // One colon: IPv4 and its port; more: an IPv6 address without brackets.
                Some((host, _)) if !host.contains(':') => host,
                _ => address,
            },
        };
        Some(Self::of(host.parse().ok()?))
    }

    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => ClientNet::V4(v4.octets()),
            // IPv4 clients of a dual-stack listener arrive mapped (`::ffff:1.2.3.4`): as /64s
            // they would all be one network.
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientNet::V4(v4.octets()),
                None => ClientNet::V6(prefix_64(v6)),
            },
        }
    }
}

fn prefix_64(v6: Ipv6Addr) -> [u8; 8] {
    let mut prefix = [0; 8];
    prefix.copy_from_slice(&v6.octets()[..8]);
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(address: &str) -> Option<ClientNet> {
        ClientNet::parse(address.as_bytes())
    }

    #[test]
    fn ipv4_clients_are_their_address() {
        assert_eq!(net("127.0.0.2:40000"), Some(ClientNet::V4([127, 0, 0, 2])));
        assert_eq!(net("10.1.2.3"), Some(ClientNet::V4([10, 1, 2, 3])));
        assert_ne!(net("10.1.2.3:1"), net("10.1.2.4:1"));
        assert_eq!(net("10.1.2.3:1"), net("10.1.2.3:2"));
    }

    #[test]
    fn ipv6_clients_are_their_64() {
        let a = net("[2001:db8:1:2::1]:443").unwrap();
        assert_eq!(a, ClientNet::V6([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2]));
        assert_eq!(net("[2001:db8:1:2:ffff:1:2:3]:9"), Some(a));
        assert_eq!(net("2001:db8:1:2::7"), Some(a));
        assert_ne!(net("[2001:db8:1:3::1]:443"), Some(a));
    }

    #[test]
    fn ipv4_clients_of_a_dual_stack_listener_are_their_ipv4_address() {
        assert_eq!(
            net("[::ffff:192.0.2.7]:80"),
            Some(ClientNet::V4([192, 0, 2, 7]))
        );
        assert_ne!(net("[::ffff:192.0.2.7]:80"), net("[::ffff:192.0.2.8]:80"));
    }

    #[test]
    fn anything_else_is_no_network() {
        for address in [
            "",
            "/run/envoy.sock",
            "envoy://internal",
            "[::1",
            "1.2.3:4",
            "x:1",
        ] {
            assert_eq!(net(address), None, "{address}");
        }
        assert_eq!(ClientNet::parse(b"\xff\xfe:1"), None);
    }
}
