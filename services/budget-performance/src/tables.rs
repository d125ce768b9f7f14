//! Tables in and out of budget-performance: the programme import/export layout, a checkpoint's
//! monitoring figures, and the 自评表 / 监控表 layouts people know. Headers may be the English
//! keys or the usual Chinese column names; amounts are yuan with at most two decimals, turned
//! into fen exactly.

use std::collections::BTreeMap;

use civic_runtime::tabular::{for_each_row, Format};
use rust_decimal::Decimal;

/// Most rows one import takes.
pub const MAX_ROWS: usize = 100_000;
/// Row errors listed before the rest are only counted.
pub const MAX_ERRORS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: i64,
    pub field: String,
    pub message: String,
}

impl RowError {
    pub fn new(row: i64, field: &str, message: impl Into<String>) -> RowError {
        RowError { row, field: field.into(), message: message.into() }
    }
}

/// The programme layout: key, Chinese header, required.
pub const PROGRAMME_COLUMNS: &[(&str, &str, bool)] = &[
    ("region_code", "区划代码", true),
    ("budget_year", "预算年度", true),
    ("code", "项目编码", true),
    ("name", "项目名称", true),
    ("kind", "项目类型", true),
    ("budget_kind", "预算类别", true),
    ("object_kind", "支出对象类型", true),
    ("owner_role", "主管部门角色", true),
    ("owner_unit", "实施单位", true),
    ("responsible_person", "项目责任人", true),
    ("initial_budget_yuan", "年初预算数(元)", false),
    ("adjusted_budget_yuan", "全年预算数(元)", true),
    ("is_new", "是否新增", false),
    ("is_major", "是否重大", false),
    ("policy_end_date", "政策截止日期", false),
];

/// The monitoring layout.
pub const MONITORING_COLUMNS: &[(&str, &str, bool)] = &[
    ("region_code", "区划代码", false),
    ("programme_code", "项目编码", true),
    ("arrived_yuan", "到位数(元)", true),
    ("paid_yuan", "拨付数(元)", true),
    ("spent_yuan", "支出数(元)", true),
    ("expected_carryover_yuan", "预计结转(元)", false),
];

/// Values a kind column takes, in English or Chinese.
pub const KIND_ALIASES: &[(&str, &str)] = &[
    ("项目", "PROJECT"),
    ("政策", "POLICY"),
    ("部门整体", "DEPARTMENT_WHOLE"),
    ("转移支付", "TRANSFER"),
    ("政府", "GOVERNMENT"),
    ("一般公共预算", "GENERAL_PUBLIC"),
    ("政府性基金预算", "GOVERNMENT_FUND"),
    ("国有资本经营预算", "STATE_CAPITAL"),
    ("社会保险基金预算", "SOCIAL_INSURANCE"),
    ("无", "NONE"),
    ("政府和社会资本合作", "PPP"),
    ("政府采购", "PROCUREMENT"),
    ("政府购买服务", "PURCHASED_SERVICES"),
    ("政府债务项目", "DEBT_PROJECT"),
    ("政府投资基金", "FUND"),
];

/// An enum cell as its English name (Chinese accepted).
pub fn canonical(cell: &str) -> String {
    let c = cell.trim();
    KIND_ALIASES
        .iter()
        .find(|(zh, _)| *zh == c)
        .map(|(_, en)| (*en).to_string())
        .unwrap_or_else(|| c.to_ascii_uppercase())
}

/// A yes/no cell.
pub fn flag(cell: &str) -> Option<bool> {
    match cell.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "n" | "否" => Some(false),
        "1" | "true" | "yes" | "y" | "是" => Some(true),
        _ => None,
    }
}

/// Yuan with at most two decimals as fen, exactly; never negative.
pub fn yuan_to_fen(cell: &str) -> Result<i64, String> {
    let c = cell.trim().replace(',', "");
    let d: Decimal = c.parse().map_err(|_| format!("'{}' is not an amount in yuan", cell.trim()))?;
    if d < Decimal::ZERO {
        return Err("must not be negative".into());
    }
    if d.scale() > 2 && d.fract() * Decimal::ONE_HUNDRED != (d.fract() * Decimal::ONE_HUNDRED).trunc() {
        return Err("at most two decimals (fen)".into());
    }
    let fen = d.checked_mul(Decimal::ONE_HUNDRED).ok_or("too large")?;
    i64::try_from(fen.trunc()).map_err(|_| "too large".to_string())
}

/// Fen as yuan with two decimals.
pub fn fen_to_yuan(fen: i64) -> String {
    let mut d = Decimal::new(fen, 2);
    d.rescale(2);
    d.to_string()
}

/// A parsed table: its named columns and rows (1-based row numbers), or what is wrong with it.
pub struct Table {
    pub columns: BTreeMap<String, usize>,
    /// Extra columns beyond the layout (e.g. "progress:保障人数"), by header.
    pub extra: Vec<(String, usize)>,
    pub rows: Vec<(i64, Vec<String>)>,
}

impl Table {
    pub fn cell<'a>(&self, row: &'a [String], key: &str) -> &'a str {
        self.columns.get(key).and_then(|i| row.get(*i)).map(|s| s.trim()).unwrap_or("")
    }
}

/// Read `content` against `layout`: header names (English or Chinese), missing required
/// columns, at most MAX_ROWS rows; blank rows skipped.
pub fn read(format: Format, content: &[u8], layout: &[(&str, &str, bool)]) -> Result<Table, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut columns = BTreeMap::new();
    let mut extra = Vec::new();
    let mut header = false;
    let mut rows = Vec::new();
    let mut too_many = false;
    let read = for_each_row(format, content, |rn, cells| {
        if !header {
            header = true;
            for (i, h) in cells.iter().enumerate() {
                let h = h.trim().trim_start_matches('\u{feff}');
                match layout.iter().find(|(k, zh, _)| h.eq_ignore_ascii_case(k) || h == *zh) {
                    Some((k, _, _)) => {
                        columns.insert((*k).to_string(), i);
                    }
                    None if !h.is_empty() => extra.push((h.to_string(), i)),
                    None => {}
                }
            }
            for (k, zh, required) in layout {
                if *required && !columns.contains_key(*k) {
                    errors.push(RowError::new(1, k, format!("missing column: name it {k} or {zh}")));
                }
            }
            return;
        }
        if cells.iter().all(|c| c.trim().is_empty()) {
            return;
        }
        if rows.len() >= MAX_ROWS {
            too_many = true;
            return;
        }
        rows.push((rn, cells.iter().map(|c| c.to_string()).collect()));
    });
    if let Err(e) = read {
        errors.push(RowError::new(0, "content", e));
    }
    if !header {
        errors.push(RowError::new(1, "content", "the file is empty"));
    }
    if too_many {
        errors.push(RowError::new(0, "content", format!("more than {MAX_ROWS} rows: split the file")));
    }
    if errors.is_empty() {
        Ok(Table { columns, extra, rows })
    } else {
        Err(errors)
    }
}

/// The file name and content type of an export.
pub fn file(stem: &str, format: Format) -> (String, String) {
    match format {
        Format::Csv => (format!("{stem}.csv"), "text/csv; charset=utf-8".into()),
        Format::Xlsx => {
            (format!("{stem}.xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_cells_become_exact_fen() {
        assert_eq!(yuan_to_fen("8,000,000.00"), Ok(800_000_000));
        assert_eq!(yuan_to_fen("0.01"), Ok(1));
        assert_eq!(yuan_to_fen("12.3"), Ok(1230));
        assert_eq!(yuan_to_fen("12.300"), Ok(1230));
        assert!(yuan_to_fen("12.345").is_err());
        assert!(yuan_to_fen("-1").is_err());
        assert!(yuan_to_fen("abc").is_err());
        assert_eq!(fen_to_yuan(800_000_001), "8000000.01");
    }
}
