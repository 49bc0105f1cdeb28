//! The plugin configuration, as Envoy hands it over: any bytes. The environment holds a few
//! variables, so that `*_env` fields and the empty (environment) configuration resolve too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3_resign::config::Plugin;
use s3_resign::gateway::Gateway;

fn env(name: &str) -> Option<String> {
    match name {
        "S3_RESIGN_CLIENT_SECRET" | "CLIENT_SECRET_KEY" | "AWS_SECRET_KEY" => {
            Some("client-secret".into())
        }
        "S3_RESIGN_ORIGIN_SECRET" | "ORIGIN_SECRET_KEY" => Some("origin-secret".into()),
        "CLIENT_ACCESS_KEY" | "AWS_ACCESS_KEY" => Some("CLIENTKEY".into()),
        "PUBLIC_DOMAINS" => Some("s3.mydomain.com,localhost:8080".into()),
        "ORIGIN_DOMAIN" => Some("origin.example:9000".into()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fuzz_target!(|json: &[u8]| {
    match Plugin::parse(json, &env) {
        Ok(Plugin::Single(config)) => {
            let _ = format!("{config:?}");
            let _ = Gateway::new(config);
        }
        Ok(Plugin::Origins(origins)) => {
            assert!(!origins.is_empty());
            for (_, config) in origins {
                let _ = Gateway::new(config);
            }
        }
        Err(e) => {
            // Errors name a field; they never echo a secret from the environment.
            let text = e.to_string();
            for secret in ["client-secret", "origin-secret"] {
                let in_input = json.windows(secret.len()).any(|w| w == secret.as_bytes());
                assert!(in_input || !text.contains(secret), "{text}");
            }
        }
    }
});
