//! The working-day calendar: Monday to Friday work, Saturday and Sunday rest, except where the
//! State Council's yearly holiday notice (国务院办公厅关于部分节假日安排的通知) declares a
//! holiday or a weekend make-up working day (调休上班). The notices are data.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use crate::load::{rows, LoadError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// 法定节假日 or a rest day moved into a holiday block.
    Holiday,
    /// 调休上班: a weekend day that is a working day.
    MakeUpWorkday,
}

#[derive(Debug, Clone)]
pub struct SpecialDay {
    pub kind: DayKind,
    pub name: String,
    pub document: String,
}

#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    days: BTreeMap<NaiveDate, SpecialDay>,
    first_year: i32,
    last_year: i32,
}

#[derive(serde::Deserialize)]
struct DayRow {
    date: String,
    kind: String,
    name: String,
    document: String,
}

/// A step-by-step account of how a deadline was counted, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub start: NaiveDate,
    pub working_days: u32,
    pub due: NaiveDate,
    /// Non-working days skipped on the way, each with why.
    pub skipped: Vec<(NaiveDate, String)>,
}

/// The year a holiday notice is about ("国务院办公厅关于2019年部分节假日安排的通知" → 2019).
fn notice_year(document: &str) -> Option<i32> {
    let after = &document[document.find("关于")? + "关于".len()..];
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    (digits.len() == 4 && after[digits.len()..].starts_with('年')).then(|| digits.parse().ok()).flatten()
}

impl WorkingCalendar {
    pub fn from_csv(file: &str, text: &str) -> Result<Self, LoadError> {
        let mut cal = WorkingCalendar { first_year: i32::MAX, last_year: i32::MIN, ..Default::default() };
        for (line, row) in rows::<DayRow>(file, text)? {
            let date = NaiveDate::parse_from_str(&row.date, "%Y-%m-%d")
                .map_err(|_| LoadError::new(file, line, format!("invalid date '{}'", row.date)))?;
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            let kind = match row.kind.as_str() {
                "holiday" => DayKind::Holiday,
                "workday" if weekend => DayKind::MakeUpWorkday,
                "workday" => {
                    return Err(LoadError::new(
                        file,
                        line,
                        format!("{date} is a weekday; only weekend days can be make-up workdays"),
                    ))
                }
                other => {
                    return Err(LoadError::new(file, line, format!("unknown kind '{other}' (holiday or workday)")))
                }
            };
            if row.document.is_empty() {
                return Err(LoadError::new(file, line, "document is required"));
            }
            // A notice covers its own year: the 元旦 break it lists in the year before does not
            // make that year covered.
            let year = notice_year(&row.document).unwrap_or(date.year());
            if cal.days.insert(date, SpecialDay { kind, name: row.name, document: row.document }).is_some() {
                return Err(LoadError::new(file, line, format!("{date} is listed twice")));
            }
            cal.first_year = cal.first_year.min(year);
            cal.last_year = cal.last_year.max(year);
        }
        Ok(cal)
    }

    /// Years the calendar has notices for; working days outside them follow weekends only.
    pub fn covered_years(&self) -> Option<(i32, i32)> {
        (self.first_year <= self.last_year).then_some((self.first_year, self.last_year))
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date).map(|d| d.kind) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::MakeUpWorkday) => true,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        }
    }

    pub fn why_not_working(&self, date: NaiveDate) -> String {
        match self.days.get(&date) {
            Some(d) => format!("{} ({})", d.name, d.document),
            None => "周末".to_string(),
        }
    }

    /// The date that is `n` working days after `start` (the start day itself does not count,
    /// as in "within 10 working days of the notice").
    ///
    /// Every day counted must lie in a year the calendar has the holiday notice for: past the
    /// last such year (or before the first) the count is refused, never guessed from weekends.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<Deadline, crate::DomainError> {
        let mut date = start;
        let mut counted = 0;
        let mut skipped = Vec::new();
        while counted < n {
            date += Duration::days(1);
            if date.year() < self.first_year || date.year() > self.last_year {
                let covered = match self.covered_years() {
                    Some((a, b)) => format!("{a}–{b}"),
                    None => "no year".to_string(),
                };
                return Err(crate::DomainError::CalendarNotCovered { year: date.year(), covered });
            }
            if self.is_working_day(date) {
                counted += 1;
            } else {
                skipped.push((date, self.why_not_working(date)));
            }
        }
        Ok(Deadline { start, working_days: n, due: date, skipped })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2019 National Day: 10-01..10-07 holidays, 09-29 (Sun) and 10-12 (Sat) make-up workdays.
    const CAL: &str = "date,kind,name,document\n\
2019-09-29,workday,国庆节调休上班,国务院办公厅关于2019年部分节假日安排的通知\n\
2019-10-01,holiday,国庆节,国务院办公厅关于2019年部分节假日安排的通知\n\
2019-10-02,holiday,国庆节,国务院办公厅关于2019年部分节假日安排的通知\n\
2019-10-03,holiday,国庆节,国务院办公厅关于2019年部分节假日安排的通知\n\
2019-10-04,holiday,国庆节,国务院办公厅关于2019年部分节假日安排的通知\n\
2019-10-05,holiday,国庆节,国务院办公厅关于2019年部分节假日安排的通知\n\
2019-10-06,holiday,国庆节,国务院办公厅关于2019年部分节假日安排的通知\n\
2019-10-07,holiday,国庆节,国务院办公厅关于2019年部分节假日安排的通知\n\
2019-10-12,workday,国庆节调休上班,国务院办公厅关于2019年部分节假日安排的通知\n";

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn make_up_sunday_counts_and_holidays_do_not() {
        let cal = WorkingCalendar::from_csv("cal.csv", CAL).unwrap();
        assert!(cal.is_working_day(d("2019-09-29")));
        assert!(!cal.is_working_day(d("2019-10-01")));
        assert!(cal.is_working_day(d("2019-10-12")));
        // From Fri 2019-09-27: Sun 29 (make-up), Mon 30, then Oct 8 (Tue) onward.
        let due = cal.add_working_days(d("2019-09-27"), 3).unwrap();
        assert_eq!(due.due, d("2019-10-08"));
        assert_eq!(due.skipped.len(), 8); // Sat 28 and Oct 1–7
                                          // 10 working days from 2019-09-27: 29, 30, Oct 8–12 (12 is a make-up Saturday), 14, 15, 16.
        assert_eq!(cal.add_working_days(d("2019-09-27"), 10).unwrap().due, d("2019-10-16"));
        // The calendar covers 2019 only: a count into 2020 is refused, naming the year.
        let e = cal.add_working_days(d("2019-12-27"), 5).unwrap_err();
        assert!(matches!(e, crate::DomainError::CalendarNotCovered { year: 2020, .. }), "{e:?}");
    }

    #[test]
    fn a_notice_covers_its_own_year_only() {
        // The 2019 notice lists 2018's last days (the 元旦 break): 2018 stays uncovered.
        let cal = WorkingCalendar::from_csv(
            "cal.csv",
            "date,kind,name,document\n2018-12-29,workday,元旦调休上班,国务院办公厅关于2019年部分节假日安排的通知\n\
2018-12-30,holiday,元旦,国务院办公厅关于2019年部分节假日安排的通知\n2019-01-01,holiday,元旦,国务院办公厅关于2019年部分节假日安排的通知\n",
        )
        .unwrap();
        assert_eq!(cal.covered_years(), Some((2019, 2019)));
        assert!(cal.is_working_day(d("2018-12-29")), "the make-up Saturday is still known");
        let e = cal.add_working_days(d("2018-12-20"), 1).unwrap_err();
        assert!(matches!(e, crate::DomainError::CalendarNotCovered { year: 2018, .. }), "{e:?}");
        assert_eq!(notice_year("国务院办公厅关于2017年部分节假日安排的通知"), Some(2017));
        assert_eq!(notice_year("本地通知"), None);
    }

    #[test]
    fn the_books_2017_and_2018_follow_their_notices() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/calendar/cn-holidays.csv"))
                .unwrap();
        let cal = WorkingCalendar::from_csv("cn-holidays.csv", &text).unwrap();
        assert_eq!(cal.covered_years().map(|c| c.0), Some(2017));
        // 2017: Spring Festival 01-27..02-02 with Sun 01-22 and Sat 02-04 worked; National Day
        // and Mid-Autumn 10-01..10-08 with Sat 09-30 worked.
        assert!(cal.is_working_day(d("2017-01-22")) && cal.is_working_day(d("2017-02-04")));
        assert!(!cal.is_working_day(d("2017-02-02")) && !cal.is_working_day(d("2017-10-08")));
        assert!(cal.is_working_day(d("2017-09-30")));
        // 2018: National Day 10-01..10-07 with Sat 09-29 and Sun 09-30 worked; 2018-12-29 worked
        // (the 2019 notice).
        assert!(cal.is_working_day(d("2018-09-29")) && cal.is_working_day(d("2018-09-30")));
        assert!(!cal.is_working_day(d("2018-10-05")) && cal.is_working_day(d("2018-12-29")));
        // 10 working days from Fri 2018-09-28: 29, 30, Oct 8–12, 15, 16, 17.
        assert_eq!(cal.add_working_days(d("2018-09-28"), 10).unwrap().due, d("2018-10-17"));
    }

    #[test]
    fn a_weekday_cannot_be_a_make_up_day() {
        let bad = "date,kind,name,document\n2019-10-08,workday,x,y\n";
        let e = WorkingCalendar::from_csv("cal.csv", bad).unwrap_err();
        assert_eq!(e.line, 2);
    }
}
