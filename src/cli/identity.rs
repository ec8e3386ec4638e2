//! What the apply lock is keyed on: the account as the vendor knows it (provider kind,
//! account, region), and, when an environment variable points roster at another
//! server, that server as the network knows it. `localhost:8080` and
//! `127.0.0.1:8080` are one server, so they take one lock.

use std::collections::BTreeSet;
use std::net::SocketAddr;

/// The lock key of an account reached at `urls` (empty when the vendor's own addresses
/// are used).
pub async fn lock_key(kind: &str, account: &str, region: &str, urls: &[&str]) -> String {
    let mut key = format!("{kind}-{account}-{region}");
    let mut hosts = BTreeSet::new();
    for url in urls {
        hosts.insert(server_of(url).await);
    }
    for host in hosts {
        key.push('-');
        key.push_str(&host);
    }
    key
}

/// The server a URL reaches: its resolved addresses (every loopback address counts as
/// one), or the lowercased host and port when it does not resolve.
async fn server_of(url: &str) -> String {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return url.to_lowercase();
    };
    let host = parsed.host_str().unwrap_or_default().to_lowercase();
    let port = parsed.port_or_known_default().unwrap_or(0);
    let Ok(addrs) = tokio::net::lookup_host((host.trim_matches(['[', ']']), port)).await else {
        return format!("{host}:{port}");
    };
    let addrs: Vec<SocketAddr> = addrs.collect();
    if !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()) {
        return format!("loopback:{port}");
    }
    let ips: BTreeSet<String> = addrs.iter().map(|a| a.to_string()).collect();
    if ips.is_empty() {
        return format!("{host}:{port}");
    }
    ips.into_iter().collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_server_by_any_name_is_one_key() {
        let key = |urls: &'static [&'static str]| lock_key("talkdesk", "acme", "us", urls);
        let local = key(&["http://localhost:18113/oauth/token"]).await;
        assert_eq!(local, key(&["http://127.0.0.1:18113"]).await);
        assert_eq!(
            local,
            key(&["http://LOCALHOST:18113/x", "http://[::1]:18113"]).await
        );
        assert_ne!(local, key(&["http://127.0.0.1:18114"]).await);
        assert_eq!(key(&[]).await, "talkdesk-acme-us");
    }
}
