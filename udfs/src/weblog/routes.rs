//! An application's named URL patterns (Django's `url(r'^…$', view,
//! name='…')`), matched all at once: a `RegexSet` finds every pattern that
//! matches a path, the first in the file wins, and only its captures run.

use regex::{Regex, RegexSet};

#[derive(Debug)]
pub struct Routes {
    names: Vec<String>,
    set: RegexSet,
    patterns: Vec<Regex>,
}

/// A matched route: its name and its named groups (unmatched optional groups left out).
#[derive(Debug, PartialEq)]
pub struct Route {
    pub action: String,
    pub params: Vec<(String, String)>,
}

impl Routes {
    /// One route per line, `name<TAB>regex`; blank lines and `#` comments skipped.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (mut names, mut sources) = (Vec::new(), Vec::new());
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let Some((name, pattern)) = line.split_once('\t') else {
                return Err(format!("routes line {}: expected `name<TAB>regex`, got `{line}`", n + 1));
            };
            if name.trim().is_empty() {
                return Err(format!("routes line {}: the route has no name", n + 1));
            }
            Regex::new(pattern).map_err(|e| format!("routes line {} ({name}): {e}", n + 1))?;
            names.push(name.trim().to_string());
            sources.push(pattern.to_string());
        }
        let set = RegexSet::new(&sources).map_err(|e| format!("routes: {e}"))?;
        let patterns = sources.iter().map(|p| Regex::new(p).expect("checked above")).collect();
        Ok(Routes { names, set, patterns })
    }

    /// The first route matching `path` (no leading `/`, no query string, as Django matches).
    pub fn route(&self, path: &str) -> Option<Route> {
        let first = self.set.matches(path).into_iter().next()?;
        let pattern = &self.patterns[first];
        let caps = pattern.captures(path)?;
        let params = pattern
            .capture_names()
            .flatten()
            .filter_map(|name| caps.name(name).map(|m| (name.to_string(), m.as_str().to_string())))
            .collect();
        Some(Route { action: self.names[first].clone(), params })
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// `%xx` decoded (invalid sequences kept as they are), read as UTF-8.
pub fn percent_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request target split into its decoded path (without the leading `/`,
/// as Django matches it) and its decoded query parameters, in order.
pub fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = percent_decode(path.strip_prefix('/').unwrap_or(path), false);
    let query = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k, true), percent_decode(v, true))
        })
        .collect();
    (path, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "# the blog's example and friends\n\
        add_user\t^user/(?P<user_id>\\d+)/add/$\n\
        user_page\t^user/(?P<user_id>\\d+)/(?:#/?)?$\n\
        user_any\t^user/\n\
        \n\
        search\t^search/(?:(?P<term>[^/]+)/)?$\n";

    #[test]
    fn first_match_wins_with_named_groups() {
        let r = Routes::parse(APP).unwrap();
        assert_eq!(r.len(), 4);
        let route = |p: &str| r.route(p).map(|r| (r.action, r.params));
        let one = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert_eq!(route("user/42/add/"), Some(("add_user".into(), one("user_id", "42"))));
        // Both user_page and user_any match: the earlier one wins; the blog's optional `#/` wrapper.
        assert_eq!(route("user/42/"), Some(("user_page".into(), one("user_id", "42"))));
        assert_eq!(route("user/42/#/"), Some(("user_page".into(), one("user_id", "42"))));
        assert_eq!(route("user/x/settings"), Some(("user_any".into(), vec![])));
        // An optional group that did not take part is left out.
        assert_eq!(route("search/"), Some(("search".into(), vec![])));
        assert_eq!(route("search/shoes/"), Some(("search".into(), one("term", "shoes"))));
        assert_eq!(route("about/"), None);
    }

    #[test]
    fn bad_routes_name_the_line() {
        assert_eq!(Routes::parse("ok\t^a$\nno tab here").unwrap_err(), "routes line 2: expected `name<TAB>regex`, got `no tab here`");
        assert!(Routes::parse("broken\t^(a$").unwrap_err().starts_with("routes line 1 (broken): "));
    }

    #[test]
    fn targets_split_and_decoded() {
        let (path, query) = split_target("/user/caf%C3%A9/?q=a+b&x=%2F&flag&=v");
        assert_eq!(path, "user/café/");
        let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(q, [("q", "a b"), ("x", "/"), ("flag", ""), ("", "v")]);
        assert_eq!(split_target("/100%"), ("100%".to_string(), vec![]));
    }
}
