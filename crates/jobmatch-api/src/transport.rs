//! Who sent a request and over what, and the headers that depend on it.
//!
//! `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from a TCP
//! peer inside a network given with `--trusted-proxy`; from any other peer
//! they are ignored, so a client cannot pick the address its unknown keys are
//! counted by, or the address in the log. (actix-web's `ConnectionInfo`
//! believes them from anyone, so nothing here uses it.)
//!
//! Every answer over TLS (or, behind a trusted proxy, to a request the proxy
//! says came over HTTPS) carries `Strict-Transport-Security`. Every answer
//! under `/v1/` carries `Cache-Control: no-store` unless its handler chose
//! otherwise: most of them carry personal data or say who may see what, and
//! one rule that no handler can forget is safer than a list.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use actix_web::HttpMessage;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// One year, in seconds: browsers that have seen the API over TLS refuse
/// clear text to it for that long.
pub const HSTS: &str = "max-age=31536000";

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// An IP network such as `10.0.0.0/8` or `2001:db8::/32`; a bare address is
/// a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    address: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.address, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNetwork {
    type Err = String;

    fn from_str(text: &str) -> Result<IpNetwork, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not an IP address or network (CIDR)"))?;
        let address = address.to_canonical();
        let most = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(prefix) => prefix
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= most)
                .ok_or_else(|| format!("`{text}`: the prefix length must be 0 to {most}"))?,
        };
        Ok(IpNetwork { address, prefix })
    }
}

/// The proxies whose forwarding headers are believed; none by default.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNetwork>>);

impl TrustedProxies {
    pub fn new(networks: Vec<IpNetwork>) -> TrustedProxies {
        TrustedProxies(Arc::new(networks))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }
}

/// Who sent a request and whether it reached the server (or its proxy) over
/// TLS; kept in the request's extensions by [`client_origin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOrigin {
    /// The client's address: the TCP peer, or behind trusted proxies the
    /// address the nearest of them says it had the request from.
    pub address: Option<IpAddr>,
    /// Whether the client's connection was TLS.
    pub https: bool,
}

impl ClientOrigin {
    /// Decides from the TCP peer, whether this connection is TLS, and the
    /// headers (believed only when the peer is a trusted proxy).
    pub fn decide(
        peer: Option<IpAddr>,
        tls: bool,
        headers: &HeaderMap,
        proxies: &TrustedProxies,
    ) -> ClientOrigin {
        let direct = ClientOrigin {
            address: peer,
            https: tls,
        };
        let Some(peer) = peer.filter(|peer| proxies.contains(*peer)) else {
            return direct;
        };
        // Each proxy appends the address it had the request from; read from
        // the right, past the trusted proxies, to the first hop that is not
        // one: what is left of it the client could have written itself.
        let hops = header_list(headers, &X_FORWARDED_FOR);
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(address) => {
                    client = address.to_canonical();
                    if !proxies.contains(client) {
                        break;
                    }
                }
                // Garbage (`unknown`, a port) ends what can be believed.
                Err(_) => break,
            }
        }
        // The proxy that talked to us set the last value.
        let https = tls
            || header_list(headers, &X_FORWARDED_PROTO)
                .last()
                .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
        ClientOrigin {
            address: Some(client),
            https,
        }
    }
}

/// Every comma-separated value of every instance of `name`, trimmed.
fn header_list(headers: &HeaderMap, name: &HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .collect()
}

/// The client address of a request that passed [`client_origin`], or its TCP
/// peer.
pub fn client_address(request: &actix_web::HttpRequest) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ClientOrigin>()
        .map(|origin| origin.address)
        .unwrap_or_else(|| request.peer_addr().map(|peer| peer.ip()))
}

/// Decides the [`ClientOrigin`] of each request, records its address in the
/// request's log span, and adds HSTS and `Cache-Control: no-store`.
pub async fn client_origin(
    proxies: TrustedProxies,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let origin = ClientOrigin::decide(
        request.peer_addr().map(|peer: SocketAddr| peer.ip()),
        request.app_config().secure(),
        request.headers(),
        &proxies,
    );
    if let Some(address) = origin.address {
        tracing::Span::current().record("client", tracing::field::display(address));
    }
    let personal = request.path().starts_with("/v1/");
    request.extensions_mut().insert(origin);
    match next.call(request).await {
        Ok(mut response) => {
            add_headers(response.headers_mut(), origin, personal);
            Ok(response)
        }
        // An error from further in (a request over its time limit) is
        // answered with these headers too. (The request cannot be kept to
        // build the answer here: routing needs it unshared.)
        Err(error) => {
            let mut answer = error.error_response();
            add_headers(answer.headers_mut(), origin, personal);
            Err(actix_web::error::InternalError::from_response(error, answer).into())
        }
    }
}

fn add_headers(headers: &mut HeaderMap, origin: ClientOrigin, personal: bool) {
    if origin.https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    if personal && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Why the server must not start: it would serve clear text off this
/// machine. `None` when every address is loopback, or TLS is on, or the
/// operator said clear text is intended (`--allow-insecure-http`) or that a
/// TLS-terminating proxy is in front (`--trusted-proxy`).
pub fn clear_text_refusal(
    addresses: &[SocketAddr],
    tls: bool,
    allow_insecure_http: bool,
    behind_proxy: bool,
) -> Option<String> {
    if tls || allow_insecure_http || behind_proxy {
        return None;
    }
    let exposed: Vec<String> = addresses
        .iter()
        .filter(|address| !address.ip().to_canonical().is_loopback())
        .map(ToString::to_string)
        .collect();
    if exposed.is_empty() {
        return None;
    }
    Some(format!(
        "refusing to serve plain HTTP on {}, which other machines can reach: API keys and \
         returnees' names, phones and dates of birth would cross the network in clear text. \
         Give --tls-cert FILE --tls-key FILE (`jobmatch tls init` makes a self-signed pair), \
         or --trusted-proxy CIDR when a TLS-terminating reverse proxy is in front, or bind to \
         127.0.0.1; --allow-insecure-http serves clear text anyway",
        exposed.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(networks: &[&str]) -> TrustedProxies {
        TrustedProxies::new(
            networks
                .iter()
                .map(|network| network.parse().expect("network"))
                .collect(),
        )
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn networks_parse_and_contain_their_addresses() {
        let network: IpNetwork = "10.1.0.0/16".parse().expect("network");
        assert!(network.contains(ip("10.1.200.3")));
        assert!(!network.contains(ip("10.2.0.1")));
        assert!(network.contains(ip("::ffff:10.1.0.9")));
        let one: IpNetwork = "192.0.2.7".parse().expect("address");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: IpNetwork = "2001:db8::/32".parse().expect("network");
        assert!(v6.contains(ip("2001:db8:1::1")) && !v6.contains(ip("2001:db9::1")));
        let everything: IpNetwork = "0.0.0.0/0".parse().expect("network");
        assert!(everything.contains(ip("203.0.113.1")));
        assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
        assert!("proxy.local".parse::<IpNetwork>().is_err());
    }

    #[test]
    fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
        let origin = ClientOrigin::decide(
            Some(ip("192.0.2.50")),
            false,
            &headers(&[
                ("x-forwarded-for", "203.0.113.9"),
                ("x-forwarded-proto", "https"),
            ]),
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(
            origin,
            ClientOrigin {
                address: Some(ip("192.0.2.50")),
                https: false
            }
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        // The client wrote a forged first entry; the outer proxy appended the
        // client's real address, the inner proxy the outer's.
        let origin = ClientOrigin::decide(
            Some(ip("10.0.0.2")),
            false,
            &headers(&[
                ("x-forwarded-for", "198.51.100.1, 203.0.113.9"),
                ("x-forwarded-for", "10.0.0.1"),
                ("x-forwarded-proto", "https"),
            ]),
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(
            origin,
            ClientOrigin {
                address: Some(ip("203.0.113.9")),
                https: true
            }
        );
        let without_header = ClientOrigin::decide(
            Some(ip("10.0.0.2")),
            true,
            &HeaderMap::new(),
            &proxies(&["10.0.0.0/8"]),
        );
        assert_eq!(without_header.address, Some(ip("10.0.0.2")));
        assert!(without_header.https);
    }

    #[test]
    fn clear_text_is_refused_only_off_loopback_without_tls_or_a_stated_reason() {
        let anywhere: SocketAddr = "0.0.0.0:8080".parse().expect("address");
        let local: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        let local6: SocketAddr = "[::1]:8080".parse().expect("address");
        let refusal = clear_text_refusal(&[anywhere], false, false, false).expect("refused");
        assert!(refusal.contains("0.0.0.0:8080") && refusal.contains("--tls-cert"));
        assert!(clear_text_refusal(&[local, local6], false, false, false).is_none());
        assert!(clear_text_refusal(&[anywhere], true, false, false).is_none());
        assert!(clear_text_refusal(&[anywhere], false, true, false).is_none());
        assert!(clear_text_refusal(&[anywhere], false, false, true).is_none());
    }
}
