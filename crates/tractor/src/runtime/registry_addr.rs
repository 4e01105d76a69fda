//! Where the registry is: a classic registrar's address, or an etcd
//! cluster (`etcd://HOST:PORT[,HOST:PORT…]`).
//!
//! One type for every place a person names the registry (`RootConfig`,
//! `RuntimeVars`, the CLI's `--registry`), so `etcd://…` works wherever a
//! registrar's multiaddr does. It lives beside [`super::state`] because the
//! runtime vars carry it to children; the clients that speak to either kind
//! are in `discovery/`.

use std::fmt;
use std::str::FromStr;

use crate::ipc::Addr;

/// The URL scheme that selects etcd.
pub const ETCD_SCHEME: &str = "etcd://";

/// An etcd cluster's client endpoints, as `HOST:PORT` strings (at least
/// one). Written `etcd://HOST:PORT[,HOST:PORT…]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EtcdEndpoints(Vec<String>);

impl EtcdEndpoints {
    /// The `HOST:PORT` endpoints.
    pub fn hosts(&self) -> &[String] {
        &self.0
    }

    /// The endpoints as the URLs an etcd client dials (`http://HOST:PORT`).
    pub fn urls(&self) -> Vec<String> {
        self.0.iter().map(|h| format!("http://{h}")).collect()
    }
}

/// A registry address that cannot be used, with the reason in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RegistryAddrError(String);

impl FromStr for EtcdEndpoints {
    type Err = RegistryAddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix(ETCD_SCHEME).ok_or_else(|| {
            RegistryAddrError(format!(
                "{s:?} is not an etcd address: expected etcd://HOST:PORT[,HOST:PORT...]"
            ))
        })?;
        let mut hosts = Vec::new();
        for part in rest.split(',') {
            let part = part.trim();
            let bad = |why: &str| {
                RegistryAddrError(format!(
                    "{s:?}: endpoint {part:?} {why} (expected etcd://HOST:PORT[,HOST:PORT...])"
                ))
            };
            if part.is_empty() {
                return Err(bad("is empty"));
            }
            let (host, port) = part.rsplit_once(':').ok_or_else(|| bad("has no :PORT"))?;
            if host.is_empty() || host.contains('/') {
                return Err(bad("has no usable host"));
            }
            match port.parse::<u16>() {
                Ok(p) if p > 0 => {}
                _ => return Err(bad("has a port that is not a number from 1 to 65535")),
            }
            hosts.push(part.to_owned());
        }
        Ok(EtcdEndpoints(hosts))
    }
}

impl fmt::Display for EtcdEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{ETCD_SCHEME}{}", self.0.join(","))
    }
}

impl serde::Serialize for EtcdEndpoints {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EtcdEndpoints {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A registry: a classic registrar (an actor serving Python tractor's
/// `self.*` registrar functions) or an etcd cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RegistryAddr {
    /// A registrar actor's address (a multiaddr).
    Classic(Addr),
    /// An etcd cluster.
    Etcd(EtcdEndpoints),
}

impl From<Addr> for RegistryAddr {
    fn from(a: Addr) -> Self {
        RegistryAddr::Classic(a)
    }
}

impl From<EtcdEndpoints> for RegistryAddr {
    fn from(e: EtcdEndpoints) -> Self {
        RegistryAddr::Etcd(e)
    }
}

impl FromStr for RegistryAddr {
    type Err = RegistryAddrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with(ETCD_SCHEME) {
            return s.parse().map(RegistryAddr::Etcd);
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(RegistryAddrError(format!(
                "{s:?}: unknown registry scheme {scheme:?}: expected a registrar multiaddr \
                 (/ip4/127.0.0.1/tcp/1616) or etcd://HOST:PORT[,HOST:PORT...]"
            )));
        }
        s.parse::<Addr>()
            .map(RegistryAddr::Classic)
            .map_err(|e| RegistryAddrError(e.to_string()))
    }
}

impl fmt::Display for RegistryAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryAddr::Classic(a) => a.fmt(f),
            RegistryAddr::Etcd(e) => e.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etcd_addresses_round_trip() {
        let r: RegistryAddr = "etcd://127.0.0.1:2379,10.0.0.2:2379".parse().unwrap();
        let RegistryAddr::Etcd(e) = &r else {
            panic!("not etcd: {r:?}")
        };
        assert_eq!(e.hosts(), ["127.0.0.1:2379", "10.0.0.2:2379"]);
        assert_eq!(e.urls()[0], "http://127.0.0.1:2379");
        assert_eq!(r.to_string(), "etcd://127.0.0.1:2379,10.0.0.2:2379");
        let json = serde_json::to_string(e).unwrap();
        assert_eq!(serde_json::from_str::<EtcdEndpoints>(&json).unwrap(), *e);
    }

    #[test]
    fn multiaddrs_stay_classic() {
        let r: RegistryAddr = "/ip4/127.0.0.1/tcp/1616".parse().unwrap();
        assert!(matches!(r, RegistryAddr::Classic(Addr::Tcp(_))));
    }

    #[test]
    fn bad_addresses_say_why() {
        let e = "etcd://".parse::<RegistryAddr>().unwrap_err().to_string();
        assert!(e.contains("is empty"), "{e}");
        let e = "etcd://host"
            .parse::<RegistryAddr>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("has no :PORT"), "{e}");
        let e = "etcd://host:99999"
            .parse::<RegistryAddr>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 to 65535"), "{e}");
        let e = "http://x:1"
            .parse::<RegistryAddr>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown registry scheme \"http\""), "{e}");
    }
}
