//! Windows' system proxy, used when no proxy variable is set, as .NET's `HttpClient` does: the
//! user's Internet Options (WinINet, read through WinHTTP), else WinHTTP's own setting
//! (`netsh winhttp set proxy`). Only a named proxy is used; automatic configuration (a PAC
//! script or WPAD) is reported, not evaluated.
//!
//! The strings are parsed here on every platform (and tested on Linux); only reading them is
//! Windows code.

/// A proxy setting of the system, as its strings say it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SystemProxy {
    /// `host:port` (or a URL) for https destinations.
    pub https: Option<String>,
    /// `host:port` (or a URL) for http destinations.
    pub http: Option<String>,
    /// The bypass list, in WinINet's syntax (see `Bypass::from_windows_list`).
    pub bypass: String,
    /// The system also names automatic configuration (WPAD or a PAC script), which azmi
    /// does not run.
    pub automatic: bool,
    /// Where it was read, for messages.
    pub from: &'static str,
}

// Outside Windows only the tests make one.
#[cfg_attr(not(windows), allow(dead_code))]
impl SystemProxy {
    /// Reads WinINet's and WinHTTP's proxy strings: `proxy`, `host:port` for every scheme or
    /// `http=host:port;https=host:port` (entries separated by `;` or blanks; others, such as
    /// `socks=`, ignored).
    pub(crate) fn from_strings(
        proxy: Option<&str>,
        bypass: Option<&str>,
        automatic: bool,
        from: &'static str,
    ) -> SystemProxy {
        let mut out = SystemProxy {
            bypass: bypass.unwrap_or("").to_owned(),
            automatic,
            from,
            ..SystemProxy::default()
        };
        let entries = proxy
            .unwrap_or("")
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|e| !e.is_empty());
        for entry in entries {
            match entry.split_once('=') {
                Some((scheme, server)) if scheme.eq_ignore_ascii_case("https") => {
                    out.https = Some(server.to_owned());
                }
                Some((scheme, server)) if scheme.eq_ignore_ascii_case("http") => {
                    out.http = Some(server.to_owned());
                }
                Some(_) => {}
                None => {
                    out.https.get_or_insert_with(|| entry.to_owned());
                    out.http.get_or_insert_with(|| entry.to_owned());
                }
            }
        }
        out
    }

    pub(crate) fn names_a_proxy(&self) -> bool {
        self.https.is_some() || self.http.is_some()
    }
}

/// The system's proxy setting, if it names a proxy or automatic configuration.
#[cfg(windows)]
pub(crate) fn read() -> Option<SystemProxy> {
    windows::read()
}

/// No system proxy outside Windows: macOS and Linux programs read the environment.
#[cfg(not(windows))]
pub(crate) fn read() -> Option<SystemProxy> {
    None
}

/// The system proxy from the user's Internet Options and WinHTTP's own setting: the first that
/// names a proxy, Internet Options first (as .NET does); WinHTTP's is still used when Internet
/// Options only ask for automatic detection (Windows' default for a user), which is then said
/// in a note. Automatic configuration alone is returned so that it can be reported.
#[cfg_attr(not(windows), allow(dead_code))]
fn choose(ie: Option<SystemProxy>, winhttp: Option<SystemProxy>) -> Option<SystemProxy> {
    let automatic = ie.as_ref().is_some_and(|p| p.automatic);
    match (ie, winhttp) {
        (Some(ie), _) if ie.names_a_proxy() => Some(ie),
        (_, Some(w)) if w.names_a_proxy() => Some(SystemProxy { automatic, ..w }),
        (Some(ie), _) if ie.automatic => Some(ie),
        _ => None,
    }
}

#[cfg(windows)]
mod windows {
    use windows_sys::Win32::Foundation::GlobalFree;
    use windows_sys::Win32::Networking::WinHttp::{
        WinHttpGetDefaultProxyConfiguration, WinHttpGetIEProxyConfigForCurrentUser,
        WINHTTP_ACCESS_TYPE_NAMED_PROXY, WINHTTP_CURRENT_USER_IE_PROXY_CONFIG, WINHTTP_PROXY_INFO,
    };

    use super::SystemProxy;

    pub(super) fn read() -> Option<SystemProxy> {
        super::choose(internet_options(), winhttp_default())
    }

    /// The user's Internet Options (WinINet's per-connection setting), as WinHTTP reads them.
    fn internet_options() -> Option<SystemProxy> {
        let mut ie = WINHTTP_CURRENT_USER_IE_PROXY_CONFIG::default();
        // SAFETY: `ie` is a valid, zeroed struct for WinHTTP to fill; on success it owns the
        // strings it allocated, which `take` copies and frees exactly once each.
        if unsafe { WinHttpGetIEProxyConfigForCurrentUser(&mut ie) } == 0 {
            return None;
        }
        let (proxy, bypass, script) = unsafe {
            (
                take(ie.lpszProxy),
                take(ie.lpszProxyBypass),
                take(ie.lpszAutoConfigUrl),
            )
        };
        Some(SystemProxy::from_strings(
            proxy.as_deref(),
            bypass.as_deref(),
            ie.fAutoDetect != 0 || script.is_some(),
            "the Windows proxy settings (Internet Options)",
        ))
    }

    /// WinHTTP's own setting (`netsh winhttp set proxy`), when it names a proxy.
    fn winhttp_default() -> Option<SystemProxy> {
        let mut info = WINHTTP_PROXY_INFO::default();
        // SAFETY: as above; the strings WinHTTP allocates are freed by `take`.
        if unsafe { WinHttpGetDefaultProxyConfiguration(&mut info) } == 0 {
            return None;
        }
        let (proxy, bypass) = unsafe { (take(info.lpszProxy), take(info.lpszProxyBypass)) };
        (info.dwAccessType == WINHTTP_ACCESS_TYPE_NAMED_PROXY).then(|| {
            SystemProxy::from_strings(
                proxy.as_deref(),
                bypass.as_deref(),
                false,
                "WinHTTP's proxy (netsh winhttp)",
            )
        })
    }

    /// Copies a NUL-terminated UTF-16 string WinHTTP allocated, and frees it.
    ///
    /// # Safety
    /// `p` is NULL or a string WinHTTP allocated with GlobalAlloc, not used afterwards.
    unsafe fn take(p: *mut u16) -> Option<String> {
        if p.is_null() {
            return None;
        }
        // SAFETY: a NUL-terminated string (contract), read up to its NUL, then freed once.
        let text = unsafe {
            let len = (0..).take_while(|&i| *p.add(i) != 0).count();
            let text = String::from_utf16_lossy(std::slice::from_raw_parts(p, len));
            GlobalFree(p.cast());
            text
        };
        (!text.trim().is_empty()).then_some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_for_every_scheme_or_one_per_scheme() {
        let p = SystemProxy::from_strings(Some("proxy.corp:8080"), None, false, "t");
        assert_eq!(p.https.as_deref(), Some("proxy.corp:8080"));
        assert_eq!(p.http.as_deref(), Some("proxy.corp:8080"));
        let p = SystemProxy::from_strings(
            Some("http=h.corp:80; https=s.corp:8443;socks=x:1080"),
            Some("<local>"),
            true,
            "t",
        );
        assert_eq!(p.https.as_deref(), Some("s.corp:8443"));
        assert_eq!(p.http.as_deref(), Some("h.corp:80"));
        assert_eq!(p.bypass, "<local>");
        assert!(p.automatic);
        let p = SystemProxy::from_strings(Some("socks=x:1080"), None, false, "t");
        assert!(!p.names_a_proxy());
        assert!(!SystemProxy::from_strings(None, None, false, "t").names_a_proxy());
    }

    #[test]
    fn internet_options_first_then_winhttp_even_under_automatic_detection() {
        let ie = |proxy: Option<&str>, automatic| {
            SystemProxy::from_strings(proxy, None, automatic, "Internet Options")
        };
        let winhttp = || SystemProxy::from_strings(Some("w.corp:3128"), None, false, "WinHTTP");
        // A proxy named in Internet Options wins.
        let p = choose(Some(ie(Some("i.corp:8080"), false)), Some(winhttp())).unwrap();
        assert_eq!(p.https.as_deref(), Some("i.corp:8080"));
        // Automatic detection alone does not hide WinHTTP's proxy, and is kept for the note.
        let p = choose(Some(ie(None, true)), Some(winhttp())).unwrap();
        assert_eq!(
            (p.https.as_deref(), p.from, p.automatic),
            (Some("w.corp:3128"), "WinHTTP", true)
        );
        let p = choose(None, Some(winhttp())).unwrap();
        assert!(!p.automatic);
        // Automatic detection alone is reported; nothing at all is no system proxy.
        let p = choose(Some(ie(None, true)), None).unwrap();
        assert!(p.automatic && !p.names_a_proxy());
        assert_eq!(choose(Some(ie(None, false)), None), None);
        assert_eq!(choose(None, None), None);
    }
}
