//! Periods as the law counts them (民法典 第二百零一条至第二百零三条; before 2021, 民法通则 第一百五十四条):
//! the start day is not counted; a period in months or years ends on the corresponding day, or
//! on the month's last day where there is none; a last day that is not a working day moves to
//! the first working day after it. Counting backwards ("提前2个月"), which the law does not
//! cover, is done by analogy and a non-working result moves to the working day before it — a
//! choice of this system, said so in every explanation that uses it.

use chrono::{Datelike, Duration, Months, NaiveDate};

use crate::{calendar::WorkingCalendar, DomainError};

/// The rule id under which period counting is cited.
pub const RULE: &str = "law.period";

/// A counted period's end, and the days it moved over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodEnd {
    /// Where the count itself lands.
    pub nominal: NaiveDate,
    /// The last day after moving off non-working days.
    pub due: NaiveDate,
    /// Non-working days moved over, each with why.
    pub moved_over: Vec<(NaiveDate, String)>,
}

fn covered(cal: &WorkingCalendar, d: NaiveDate) -> Result<(), DomainError> {
    match cal.covered_years() {
        Some((a, b)) if (a..=b).contains(&d.year()) => Ok(()),
        Some((a, b)) => Err(DomainError::CalendarNotCovered { year: d.year(), covered: format!("{a}–{b}") }),
        None => Err(DomainError::CalendarNotCovered { year: d.year(), covered: "no year".into() }),
    }
}

/// Move `nominal` forward (or backward) to a working day, recording the days passed over.
fn settle(cal: &WorkingCalendar, nominal: NaiveDate, forward: bool) -> Result<PeriodEnd, DomainError> {
    let mut due = nominal;
    let mut moved_over = Vec::new();
    covered(cal, due)?;
    while !cal.is_working_day(due) {
        moved_over.push((due, cal.why_not_working(due)));
        due = if forward { due + Duration::days(1) } else { due - Duration::days(1) };
        covered(cal, due)?;
        if moved_over.len() > 40 {
            return Err(DomainError::Inconsistent(format!("no working day near {nominal}")));
        }
    }
    Ok(PeriodEnd { nominal, due, moved_over })
}

/// The last day of "within `days` days of `start`" (start day not counted).
pub fn days_after(cal: &WorkingCalendar, start: NaiveDate, days: u32) -> Result<PeriodEnd, DomainError> {
    settle(cal, start + Duration::days(i64::from(days)), true)
}

/// `months` months after `start`: the corresponding day, or the month's last day.
pub fn months_after(cal: &WorkingCalendar, start: NaiveDate, months: u32) -> Result<PeriodEnd, DomainError> {
    let nominal = start.checked_add_months(Months::new(months)).ok_or(DomainError::Overflow("months after"))?;
    settle(cal, nominal, true)
}

/// The latest day that is still `months` months before `due` (counted back by analogy; a
/// non-working day moves to the working day before it).
pub fn months_before(cal: &WorkingCalendar, due: NaiveDate, months: u32) -> Result<PeriodEnd, DomainError> {
    let nominal = due.checked_sub_months(Months::new(months)).ok_or(DomainError::Overflow("months before"))?;
    settle(cal, nominal, false)
}

/// Whether `years` full years have passed from `start` to `on` (a year is full on its
/// corresponding day, or the month's last day where there is none).
pub fn years_reached(start: NaiveDate, on: NaiveDate, years: u32) -> bool {
    match start.checked_add_months(Months::new(years.saturating_mul(12))) {
        Some(end) => on >= end,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const CAL: &str = "date,kind,name,document\n\
2024-09-29,workday,国庆节调休上班,N\n2024-10-01,holiday,国庆节,N\n2024-10-02,holiday,国庆节,N\n\
2024-10-03,holiday,国庆节,N\n2024-10-04,holiday,国庆节,N\n2024-10-05,holiday,国庆节,N\n\
2024-10-06,holiday,国庆节,N\n2024-10-07,holiday,国庆节,N\n2024-10-12,workday,国庆节调休上班,N\n\
2025-10-01,holiday,国庆节,N\n";

    #[test]
    fn forward_backward_and_month_ends() {
        let cal = WorkingCalendar::from_csv("c", CAL).unwrap();
        // 15 days from 2024-09-20: 10-05, a holiday → 10-08.
        let p = days_after(&cal, d("2024-09-20"), 15).unwrap();
        assert_eq!((p.nominal, p.due), (d("2024-10-05"), d("2024-10-08")));
        // Two months before 2024-04-30: no 02-30 → 02-29.
        assert_eq!(months_before(&cal, d("2024-04-30"), 2).unwrap().due, d("2024-02-29"));
        assert_eq!(months_before(&cal, d("2024-12-15"), 2).unwrap().due, d("2024-10-15"));
        // Two months before 2025-12-01: 10-01, a holiday → the working day before, 09-30.
        assert_eq!(months_before(&cal, d("2025-12-01"), 2).unwrap().due, d("2025-09-30"));
        assert!(years_reached(d("2023-05-10"), d("2024-05-10"), 1));
        assert!(!years_reached(d("2023-05-10"), d("2024-05-09"), 1));
        assert!(matches!(days_after(&cal, d("2026-12-30"), 5), Err(DomainError::CalendarNotCovered { .. })));
    }
}
