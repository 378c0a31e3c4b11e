//! The statistics tab: documents per circuit and month, the median time from deposit to
//! signature, documents overdue and refusals over the last 12 months, each as a server-drawn
//! SVG chart with its figures in a table.

use super::charts::{Series, bars, number};
use super::{Frame, admin, page};
use crate::routes::html::PageError;
use crate::state::AppState;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, TimeZone};
use std::collections::BTreeMap;

/// Months shown.
const MONTHS: usize = 12;
const MONTH_NAMES: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];

/// A chart with its table: rows of (label, figures).
struct Figure {
    svg: String,
    columns: Vec<String>,
    rows: Vec<(String, Vec<String>)>,
}

/// One statistic: its heading, a sentence with the overall figure, the chart and its table.
struct Section {
    id: &'static str,
    title: &'static str,
    note: Option<String>,
    /// The header of the table's first column.
    first: &'static str,
    fig: Figure,
}

#[derive(Template)]
#[template(path = "admin/statistics.html")]
struct StatisticsPage<'a> {
    f: &'a Frame,
    sections: Vec<Section>,
}

/// The first days of the last `MONTHS` months (the current one last).
fn month_days(today: NaiveDate) -> Vec<NaiveDate> {
    let current = today.year() * 12 + today.month0() as i32;
    (0..MONTHS)
        .rev()
        .filter_map(|back| {
            let m = current - back as i32;
            NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1)
        })
        .collect()
}

/// Local midnight of a day, in milliseconds.
fn start_ms(day: NaiveDate) -> i64 {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    crate::clock::zone()
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(
            || midnight.and_utc().timestamp_millis(),
            |t| t.timestamp_millis(),
        )
}

fn median(mut v: Vec<i64>) -> Option<f64> {
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2] as f64),
        _ => Some((v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0),
    }
}

const HOUR_MS: f64 = 3_600_000.0;

/// A duration in words: hours below two days, days above.
fn duration_fr(ms: f64) -> String {
    let hours = ms / HOUR_MS;
    if hours < 48.0 {
        format!("{} h", number(hours))
    } else {
        format!("{} jours", number(hours / 24.0))
    }
}

fn circuit_name(c: String) -> String {
    if c.is_empty() {
        "à la demande".into()
    } else {
        c
    }
}

pub(super) async fn statistics_page(
    State(state): State<AppState>,
    Path(siren): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (_, siren, f) = admin(&state, &headers, &siren, "statistiques").await?;
    let today = crate::clock::now().date_naive();
    let days = month_days(today);
    let starts: Vec<i64> = days.iter().copied().map(start_ms).collect();
    let labels: Vec<String> = days
        .iter()
        .map(|d| format!("{} {:02}", MONTH_NAMES[d.month0() as usize], d.year() % 100))
        .collect();
    let index = |m: i64| usize::try_from(m).ok().filter(|m| *m < MONTHS);
    let db = &state.db;

    // Documents per circuit and month.
    let mut per_circuit: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (circuit, month, n) in db.stats_deposits(siren.as_str(), &starts).await? {
        if let Some(i) = index(month) {
            per_circuit
                .entry(circuit_name(circuit))
                .or_insert_with(|| vec![0.0; MONTHS])[i] += n as f64;
        }
    }
    let series: Vec<Series> = per_circuit
        .into_iter()
        .map(|(name, values)| Series { name, values })
        .collect();
    let deposits = Figure {
        svg: bars(
            "depots",
            "Documents déposés par circuit et par mois",
            &labels,
            &series,
        ),
        columns: labels.clone(),
        rows: series
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.values.iter().map(|v| number(*v)).collect(),
                )
            })
            .collect(),
    };

    // Median time from deposit to signature, per month of deposit.
    let delays_rows = db.stats_signature_delays(siren.as_str(), &starts).await?;
    let median_all = median(delays_rows.iter().map(|(_, d)| *d).collect());
    let mut by_month: Vec<Vec<i64>> = vec![Vec::new(); MONTHS];
    for (month, delay) in delays_rows {
        if let Some(i) = index(month) {
            by_month[i].push(delay);
        }
    }
    let medians: Vec<Option<f64>> = by_month.into_iter().map(median).collect();
    let hours: Vec<f64> = medians
        .iter()
        .map(|m| m.map_or(0.0, |ms| ms / HOUR_MS))
        .collect();
    let delays = Figure {
        svg: bars(
            "delais",
            "Délai médian entre le dépôt et la signature, en heures, par mois de dépôt",
            &labels,
            &[Series {
                name: "Délai médian (heures)".into(),
                values: hours,
            }],
        ),
        columns: labels.clone(),
        rows: vec![(
            "Délai médian".into(),
            medians
                .iter()
                .map(|m| m.map_or_else(|| "—".into(), duration_fr))
                .collect(),
        )],
    };

    // Documents overdue, per circuit.
    let overdue_rows = db
        .stats_overdue(siren.as_str(), &crate::service::access::today())
        .await?;
    let overdue_total: i64 = overdue_rows.iter().map(|(_, n)| n).sum();
    let names: Vec<String> = overdue_rows
        .iter()
        .map(|(c, _)| circuit_name(c.clone()))
        .collect();
    let overdue = Figure {
        svg: bars(
            "retards",
            "Documents en retard par circuit",
            &names,
            &[Series {
                name: "En retard".into(),
                values: overdue_rows.iter().map(|(_, n)| *n as f64).collect(),
            }],
        ),
        columns: vec!["Documents en retard".into()],
        rows: overdue_rows
            .into_iter()
            .map(|(c, n)| (circuit_name(c), vec![n.to_string()]))
            .collect(),
    };

    // Refusals per month.
    let mut refused = vec![0.0; MONTHS];
    for (month, n) in db.stats_refusals(siren.as_str(), &starts).await? {
        if let Some(i) = index(month) {
            refused[i] += n as f64;
        }
    }
    let refusals = Figure {
        svg: bars(
            "refus",
            "Refus par mois (visas désapprouvés, signatures refusées ou rejetées)",
            &labels,
            &[Series {
                name: "Refus".into(),
                values: refused.clone(),
            }],
        ),
        columns: labels,
        rows: vec![("Refus".into(), refused.iter().map(|v| number(*v)).collect())],
    };

    let sections = vec![
        Section {
            id: "depots",
            title: "Documents déposés par circuit et par mois",
            note: None,
            first: "Circuit",
            fig: deposits,
        },
        Section {
            id: "delais",
            title: "Délai médian entre le dépôt et la signature",
            note: Some(format!(
                "Délai médian sur la période : {}.",
                median_all
                    .map_or_else(|| "aucun document signé sur la période".into(), duration_fr,)
            )),
            first: "Mesure",
            fig: delays,
        },
        Section {
            id: "retards",
            title: "Documents en retard",
            note: Some(format!(
                "Documents en cours dont la date limite est passée : {overdue_total}."
            )),
            first: "Circuit",
            fig: overdue,
        },
        Section {
            id: "refus",
            title: "Refus",
            note: None,
            first: "Mesure",
            fig: refusals,
        },
    ];
    let html = StatisticsPage { f: &f, sections }.render();
    page(&state, &f, html, StatusCode::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_months_ending_with_the_current_one() {
        let days = month_days(NaiveDate::from_ymd_opt(2026, 2, 17).unwrap_or_default());
        assert_eq!(days.len(), 12);
        assert_eq!(
            days[0],
            NaiveDate::from_ymd_opt(2025, 3, 1).unwrap_or_default()
        );
        assert_eq!(
            days[11],
            NaiveDate::from_ymd_opt(2026, 2, 1).unwrap_or_default()
        );
        assert_eq!(median(vec![5, 1, 3]), Some(3.0));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
        assert_eq!(duration_fr(3.0 * HOUR_MS), "3 h");
        assert_eq!(duration_fr(72.0 * HOUR_MS), "3 jours");
    }
}
