//! Which hosts go direct although a proxy is set: curl's `NO_PROXY` list, and the bypass list of
//! Windows' system proxy (read in `system.rs`). Both answer with the entry that matched, so that
//! azmi can say why a request went direct.

use std::fmt;
use std::net::IpAddr;

/// A parsed list of hosts that go direct.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bypass {
    /// `*`: every host.
    everything: bool,
    entries: Vec<Entry>,
    /// Windows' bypass lists skip loopback unless they say `<-loopback>`; curl's never do.
    loopback: bool,
}

#[derive(Clone, Debug)]
enum Entry {
    /// A host name and its subdomains (curl: `example.com` and `.example.com` both match
    /// `example.com` and `www.example.com`, never `notexample.com`). Stored lowercase, without
    /// leading or trailing dots; `written` is the entry as given.
    Name { name: String, written: String },
    /// An IP address, or a CIDR range (`10.0.0.0/8`, `fd00::/8`); a prefix of 0 means the
    /// address alone, as in curl.
    Net {
        addr: IpAddr,
        prefix: Option<u8>,
        written: String,
    },
    /// A Windows pattern with `*` wildcards (`*.corp.example`, `10.*`), matched against the
    /// whole host, ignoring case.
    Wildcard { pattern: String },
    /// Windows' `<local>`: host names without a dot.
    Local,
}

/// Which entry of a no-proxy list sent a host direct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matched<'a> {
    Everything,
    Entry(&'a str),
    Loopback,
}

impl fmt::Display for Matched<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matched::Everything => f.write_str("'*'"),
            Matched::Entry(e) => write!(f, "'{e}'"),
            Matched::Loopback => f.write_str("loopback (implicit)"),
        }
    }
}

impl Bypass {
    /// A `NO_PROXY` value read as curl reads it: `*` alone is every host; otherwise a comma
    /// separated list of host names (a leading dot changes nothing: subdomains match either
    /// way), IP addresses and CIDR ranges. Blanks around entries are ignored. Loopback is not
    /// special: it goes direct only when the list names it.
    pub(crate) fn from_no_proxy(list: &str) -> Bypass {
        if list.trim() == "*" {
            return Bypass {
                everything: true,
                ..Bypass::default()
            };
        }
        let entries = list
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .filter_map(parse_curl_entry)
            .collect();
        Bypass {
            everything: false,
            entries,
            loopback: false,
        }
    }

    /// Windows' `ProxyOverride` list (WinINet, as WinHTTP and .NET read it): entries separated
    /// by `;` (or blanks), `*` wildcards, `<local>` for names without a dot, and loopback
    /// bypassed unless the list says `<-loopback>`. A scheme (`https://`) or port on an entry
    /// is ignored.
    pub(crate) fn from_windows_list(list: &str) -> Bypass {
        let mut bypass = Bypass {
            loopback: true,
            ..Bypass::default()
        };
        for raw in list
            .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
        {
            match raw.to_ascii_lowercase().as_str() {
                "<local>" => bypass.entries.push(Entry::Local),
                "<-loopback>" => bypass.loopback = false,
                "*" => bypass.everything = true,
                lower => {
                    let host = lower.split_once("://").map_or(lower, |(_, rest)| rest);
                    let host = strip_port(host);
                    if host.contains('*') {
                        bypass.entries.push(Entry::Wildcard {
                            pattern: host.to_owned(),
                        });
                    } else if let Some(entry) = parse_curl_entry(host) {
                        bypass.entries.push(entry);
                    }
                }
            }
        }
        bypass
    }

    pub(crate) fn is_empty(&self) -> bool {
        !self.everything && self.entries.is_empty() && !self.loopback
    }

    /// The entries as given, for messages and `azmi_proxy_get`.
    pub(crate) fn written(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.everything {
            out.push("*".into());
        }
        for e in &self.entries {
            out.push(match e {
                Entry::Name { written, .. } | Entry::Net { written, .. } => written.clone(),
                Entry::Wildcard { pattern } => pattern.clone(),
                Entry::Local => "<local>".into(),
            });
        }
        out
    }

    /// The entry that sends `host` direct, if any.
    pub(crate) fn matches(&self, host: &url::Host<&str>) -> Option<Matched<'_>> {
        if self.everything {
            return Some(Matched::Everything);
        }
        let ip = match host {
            url::Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            url::Host::Ipv6(a) => Some(IpAddr::V6(*a)),
            url::Host::Domain(_) => None,
        };
        if self.loopback && is_loopback(host) {
            return Some(Matched::Loopback);
        }
        // Compared in place, without a copy: this runs for every service request.
        let name = match host {
            url::Host::Domain(d) => Some(d.trim_end_matches('.').as_bytes()),
            _ => None,
        };
        self.entries.iter().find_map(|entry| {
            let matched = match (entry, ip, name) {
                // As in curl: names match names only, addresses and ranges addresses only.
                (Entry::Name { name: entry, .. }, _, Some(host)) => {
                    let entry = entry.as_bytes();
                    host.eq_ignore_ascii_case(entry)
                        || (host.len() > entry.len()
                            && host[host.len() - entry.len()..].eq_ignore_ascii_case(entry)
                            && host[host.len() - entry.len() - 1] == b'.')
                }
                (Entry::Net { addr, prefix, .. }, Some(ip), _) => in_network(ip, *addr, *prefix),
                (Entry::Wildcard { pattern }, _, _) => wildcard_match(pattern, &host_text(host)),
                (Entry::Local, _, Some(host)) => !host.contains(&b'.'),
                _ => false,
            };
            matched.then_some(match entry {
                Entry::Name { written, .. } | Entry::Net { written, .. } => {
                    Matched::Entry(written.as_str())
                }
                Entry::Wildcard { pattern } => Matched::Entry(pattern.as_str()),
                Entry::Local => Matched::Entry("<local>"),
            })
        })
    }
}

/// The host as Windows patterns match it: lowercase, without a trailing dot.
fn host_text(host: &url::Host<&str>) -> String {
    match host {
        url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        url::Host::Ipv4(a) => a.to_string(),
        url::Host::Ipv6(a) => a.to_string(),
    }
}

/// One entry of a curl `NO_PROXY` list: an address, a CIDR range, or a host name.
fn parse_curl_entry(entry: &str) -> Option<Entry> {
    let written = entry.to_owned();
    let bare = entry.trim_start_matches('[').replace(']', "");
    let (address, prefix) = match bare.split_once('/') {
        Some((a, bits)) => (a, bits.parse::<u8>().ok()),
        None => (bare.as_str(), None),
    };
    if let Ok(addr) = address.parse::<IpAddr>() {
        if bare.contains('/') && prefix.is_none() {
            return None; // "10.0.0.0/x": nothing curl would match either
        }
        return Some(Entry::Net {
            addr,
            prefix,
            written,
        });
    }
    let name = entry
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!name.is_empty()).then_some(Entry::Name { name, written })
}

/// Whether `ip` is `net` (prefix `None` or 0: the address alone, as curl reads `/0`) or within
/// `net/prefix`. A prefix longer than the address matches nothing, as in curl.
fn in_network(ip: IpAddr, net: IpAddr, prefix: Option<u8>) -> bool {
    let prefix = prefix.unwrap_or(0);
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let (ip, net) = (u32::from(ip), u32::from(net));
            match prefix {
                0 | 32 => ip == net,
                1..=31 => (ip ^ net) >> (32 - prefix) == 0,
                _ => false,
            }
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let (ip, net) = (u128::from(ip), u128::from(net));
            match prefix {
                0 | 128 => ip == net,
                1..=127 => (ip ^ net) >> (128 - prefix) == 0,
                _ => false,
            }
        }
        _ => false,
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(a) => a.is_loopback(),
        url::Host::Ipv6(a) => a.is_loopback(),
        url::Host::Domain(d) => d.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
    }
}

/// `host:port` → `host` (an IPv6 address keeps its colons).
fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

/// `*` matches any run of characters; everything else itself (both sides are lowercase).
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(list: &Bypass, url: &str) -> Option<String> {
        let url = url::Url::parse(url).unwrap();
        list.matches(&url.host().unwrap()).map(|m| m.to_string())
    }

    #[test]
    fn curl_names_match_the_domain_and_its_subdomains_only() {
        let list = Bypass::from_no_proxy(" example.com, .corp.example ,Intra.");
        assert_eq!(
            direct(&list, "https://example.com/"),
            Some("'example.com'".into())
        );
        assert!(direct(&list, "https://www.EXAMPLE.com/").is_some());
        assert!(direct(&list, "https://notexample.com/").is_none());
        // A leading dot changes nothing in curl: the domain itself matches too.
        assert_eq!(
            direct(&list, "https://corp.example/"),
            Some("'.corp.example'".into())
        );
        assert!(direct(&list, "https://a.b.corp.example/").is_some());
        assert!(direct(&list, "https://intra./").is_some());
        assert!(direct(&list, "https://x.intra/").is_some());
        assert!(direct(&list, "https://corp.example.net/").is_none());
    }

    #[test]
    fn curl_does_not_bypass_loopback_unless_listed() {
        let none = Bypass::from_no_proxy("");
        assert!(direct(&none, "https://127.0.0.1:8443/").is_none());
        assert!(direct(&none, "https://localhost/").is_none());
        let list = Bypass::from_no_proxy("localhost,127.0.0.1");
        assert!(direct(&list, "https://127.0.0.1:8443/").is_some());
        assert!(direct(&list, "https://localhost:1/").is_some());
        // Names match names and addresses addresses, as in curl.
        assert!(direct(&list, "https://127.0.0.2/").is_none());
        let by_name = Bypass::from_no_proxy("localhost");
        assert!(direct(&by_name, "https://127.0.0.1/").is_none());
    }

    #[test]
    fn addresses_and_cidr_ranges() {
        let list = Bypass::from_no_proxy("10.0.0.0/8, 192.168.1.7, fd00::/8, [::1], 172.16.0.0/0");
        assert_eq!(
            direct(&list, "https://10.20.30.40/"),
            Some("'10.0.0.0/8'".into())
        );
        assert!(direct(&list, "https://11.0.0.1/").is_none());
        assert!(direct(&list, "https://192.168.1.7/").is_some());
        assert!(direct(&list, "https://192.168.1.8/").is_none());
        assert!(direct(&list, "https://[fd12::1]/").is_some());
        assert!(direct(&list, "https://[fe80::1]/").is_none());
        assert!(direct(&list, "https://[::1]:9/").is_some());
        // /0 is the address alone in curl, not everything.
        assert!(direct(&list, "https://172.16.0.0/").is_some());
        assert!(direct(&list, "https://172.16.0.1/").is_none());
        assert!(Bypass::from_no_proxy("10.0.0.0/40").written().len() == 1);
        assert!(direct(&Bypass::from_no_proxy("10.0.0.0/40"), "https://10.0.0.0/").is_none());
    }

    #[test]
    fn a_star_alone_is_every_host_and_elsewhere_nothing() {
        let all = Bypass::from_no_proxy(" * ");
        assert_eq!(direct(&all, "https://anything/"), Some("'*'".into()));
        assert!(direct(&all, "https://10.1.1.1/").is_some());
        // curl reads '*' only as the whole value; "*.example.com" is not a wildcard there.
        let list = Bypass::from_no_proxy("*.example.com,a");
        assert!(direct(&list, "https://www.example.com/").is_none());
    }

    #[test]
    fn windows_lists_have_wildcards_local_names_and_implicit_loopback() {
        let list = Bypass::from_windows_list("*.corp.example;10.*;<local>; https://intra:8080 ");
        assert_eq!(
            direct(&list, "https://a.corp.example/"),
            Some("'*.corp.example'".into())
        );
        assert!(direct(&list, "https://corp.example/").is_none());
        assert!(direct(&list, "https://10.2.3.4/").is_some());
        assert!(direct(&list, "https://printer/").is_some());
        assert!(direct(&list, "https://intra/").is_some());
        assert_eq!(
            direct(&list, "https://127.0.0.1/"),
            Some("loopback (implicit)".into())
        );
        assert!(direct(&list, "https://example.com/").is_none());
        let no_loopback = Bypass::from_windows_list("<-loopback>");
        assert!(direct(&no_loopback, "https://localhost/").is_none());
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("a*b*c", "axxc"));
        assert!(wildcard_match("*", ""));
    }
}
