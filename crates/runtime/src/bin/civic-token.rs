//! Mint a bearer token for local use:
//!
//! ```text
//! civic-token --subject li.na --role civil-affairs --region 210521 [--unit TOWN_OR_CLUSTER] [--hours 8]
//! ```
//!
//! The key is `CIVIC_SIGNING_KEY` (the development key when unset, as on the servers).
#![forbid(unsafe_code)]

use civic_domain::RegionCode;
use civic_runtime::identity::{Role, TokenKey, DEVELOPMENT_SIGNING_KEY};

fn usage() -> ! {
    eprintln!("usage: civic-token --subject NAME --role ROLE --region CODE [--unit TOWN_OR_CLUSTER] [--hours N]");
    eprintln!("roles: {}", Role::ALL.map(Role::as_str).join(", "));
    std::process::exit(2)
}

fn main() {
    let mut subject = None;
    let mut role = None;
    let mut region = None;
    let mut unit = None;
    let mut hours: i64 = 8;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--subject" => subject = Some(value()),
            "--role" => {
                role = Some(value().parse::<Role>().unwrap_or_else(|e| {
                    eprintln!("{e}");
                    usage()
                }))
            }
            "--region" => {
                region = Some(RegionCode::parse(&value()).unwrap_or_else(|e| {
                    eprintln!("{e}");
                    usage()
                }))
            }
            "--unit" => unit = Some(value()),
            "--hours" => hours = value().parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let (Some(subject), Some(role), Some(region)) = (subject, role, region) else { usage() };
    let key = std::env::var("CIVIC_SIGNING_KEY").unwrap_or_else(|_| DEVELOPMENT_SIGNING_KEY.to_string());
    println!(
        "{}",
        TokenKey::new(&key).mint_for_unit(&subject, role, region, unit.as_deref(), chrono::Duration::hours(hours))
    );
}
