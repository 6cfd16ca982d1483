//! The `[defaults]` table, and the retention and near-duplicate keys it
//! shares with `[[source]]`.

use toml::Spanned;
use toml::de::DeValue;

use super::raw::{RawDefaults, Scalar};
use super::validate::{
    Ctx, SCHEDULE_HELP, check_byte_size, check_limit, check_max_interval, check_min_interval,
    parse_duration_value, parse_schedule, take_single,
};
use super::{DEFAULT_NEAR_THRESHOLD_PCT, Defaults, SourceDedup};

pub(super) fn build_defaults(ctx: &mut Ctx<'_>, value: Option<Spanned<DeValue<'_>>>) -> Defaults {
    let mut defaults = Defaults::default();
    let Some(raw) = take_single::<RawDefaults>(ctx, value, "defaults") else {
        return defaults;
    };
    if let Some(refresh) = raw.refresh {
        match parse_schedule(refresh.get_ref()) {
            Ok(schedule) => defaults.refresh = schedule,
            Err(problem) => ctx.error(
                refresh.span(),
                format!("defaults: refresh {problem}"),
                Some(SCHEDULE_HELP.to_string()),
            ),
        }
    }
    if let Some(min_interval) = raw.min_interval
        && let Some(d) = check_min_interval(ctx, &min_interval, "defaults")
    {
        defaults.min_interval = d;
    }
    if let Some(max_interval) = raw.max_interval
        && let Some(d) = check_max_interval(ctx, &max_interval, defaults.min_interval, "defaults")
    {
        defaults.max_interval = d;
    }
    if let Some(timeout) = raw.timeout {
        match parse_duration_value(timeout.get_ref()) {
            Ok(d) if d.is_zero() => ctx.error(
                timeout.span(),
                "defaults: timeout must be greater than zero",
                Some("write a duration such as \"30s\"".to_string()),
            ),
            Ok(d) => defaults.timeout = d,
            Err((problem, help)) => ctx.error(
                timeout.span(),
                format!("defaults: timeout {problem}"),
                Some(help),
            ),
        }
    }
    if let Some(size) = raw.max_body_bytes
        && let Some(n) = check_byte_size(ctx, &size, "defaults: max_body_bytes")
    {
        defaults.max_body_bytes = n;
    }
    if let Some(size) = raw.max_article_bytes
        && let Some(n) = check_byte_size(ctx, &size, "defaults: max_article_bytes")
    {
        defaults.max_article_bytes = n;
    }
    if let Some(allow) = raw.allow_internal {
        defaults.allow_internal = *allow.get_ref();
    }
    if let Some(limit) = raw.feed_limit
        && let Some(n) = check_limit(ctx, &limit, "defaults: feed_limit")
    {
        defaults.feed_limit = n;
    }
    if let Some(strip) = raw.strip_www {
        defaults.dedup.urls.strip_www = *strip.get_ref();
    }
    for param in raw.tracking_params.iter().flatten() {
        let name = param.get_ref().trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(['&', '=', '?', '#', ' ']) {
            ctx.error(
                param.span(),
                format!(
                    "defaults: tracking_params: `{}` is not a parameter name",
                    param.get_ref()
                ),
                Some("write query parameter names such as \"from\" or \"campaign_id\"".to_string()),
            );
        } else if !defaults.dedup.urls.extra_tracking.contains(&name) {
            defaults.dedup.urls.extra_tracking.push(name);
        }
    }
    if let Some(ttl) = raw.tombstone_ttl {
        match parse_duration_value(ttl.get_ref()) {
            Ok(d) => defaults.dedup.tombstone_ttl = d,
            Err((problem, help)) => ctx.error(
                ttl.span(),
                format!("defaults: tombstone_ttl {problem}"),
                Some(help),
            ),
        }
    }
    let dedup = build_source_dedup(
        ctx,
        "defaults",
        &defaults.dedup.clone(),
        raw.max_items,
        raw.max_age,
        raw.near_duplicates,
        raw.near_duplicate_threshold,
    );
    if let Some(dedup) = dedup {
        defaults.dedup = dedup;
    }
    defaults
}

/// Checks the retention and near-duplicate keys of a `[[source]]` or of
/// `[defaults]`; `None` after reporting an error.
pub(super) fn build_source_dedup(
    ctx: &mut Ctx<'_>,
    label: &str,
    defaults: &SourceDedup,
    max_items: Option<Spanned<i64>>,
    max_age: Option<Spanned<Scalar>>,
    near_duplicates: Option<Spanned<bool>>,
    threshold: Option<Spanned<f64>>,
) -> Option<SourceDedup> {
    let mut out = defaults.clone();
    let mut ok = true;
    if let Some(max) = max_items {
        match usize::try_from(*max.get_ref()) {
            Ok(n) if n >= 1 => out.max_items = Some(n),
            _ => {
                ctx.error(
                    max.span(),
                    format!(
                        "{label}: max_items must be at least 1, got {}",
                        max.get_ref()
                    ),
                    Some(
                        "write a number of items such as 500, or remove the key for no limit"
                            .to_string(),
                    ),
                );
                ok = false;
            }
        }
    }
    if let Some(age) = max_age {
        match parse_duration_value(age.get_ref()) {
            Ok(d) if d.is_zero() => {
                ctx.error(
                    age.span(),
                    format!("{label}: max_age must be greater than zero"),
                    Some(
                        "write a duration such as \"90d\", or remove the key for no limit"
                            .to_string(),
                    ),
                );
                ok = false;
            }
            Ok(d) => out.max_age = Some(d),
            Err((problem, help)) => {
                ctx.error(
                    age.span(),
                    format!("{label}: max_age {problem}"),
                    Some(help),
                );
                ok = false;
            }
        }
    }
    if let Some(t) = threshold {
        let v = *t.get_ref();
        if (0.05..=1.0).contains(&v) {
            out.near_threshold_pct = Some((v * 100.0).round() as u8);
        } else {
            ctx.error(
                t.span(),
                format!("{label}: near_duplicate_threshold must be between 0.05 and 1.0, got {v}"),
                Some(
                    "write a fraction of shared text such as 0.6 (higher merges less)".to_string(),
                ),
            );
            ok = false;
        }
    }
    match near_duplicates.map(|n| *n.get_ref()) {
        Some(false) => out.near_threshold_pct = None,
        Some(true) if out.near_threshold_pct.is_none() => {
            out.near_threshold_pct = Some(DEFAULT_NEAR_THRESHOLD_PCT)
        }
        _ => {}
    }
    ok.then_some(out)
}
