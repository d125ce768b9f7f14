//! Rosters as spreadsheets: one row per member, CSV or XLSX, in and out — the columns, their
//! Chinese names, the cells' forms, and the export. `roster` reads a file into households; every
//! problem is reported with its row (the header is row 1) and column, and a file with any
//! problem stores nothing.

use civic_domain::Fen;
pub use civic_runtime::tabular::{for_each_row, Format};

use crate::{
    roll::RollRecord,
    rules::household::{Income, Residence},
};

pub const COLUMNS: [&str; 10] = [
    "household_id",
    "region_code",
    "residence",
    "category",
    "status",
    "member_id",
    "age",
    "able_bodied",
    "has_income_proof",
    "incomes",
];

/// The place of column `name` in [`COLUMNS`]; a name that is not one fails the build.
pub(crate) const fn column(name: &str) -> usize {
    let mut k = 0;
    while k < COLUMNS.len() {
        let (a, b) = (COLUMNS[k].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut i = 0;
            while i < a.len() && a[i] == b[i] {
                i += 1;
            }
            if i == a.len() {
                return k;
            }
        }
        k += 1;
    }
    panic!("not a roll column")
}

/// Chinese headers clerks use for each column (the proto's English names work too).
pub const CHINESE_HEADERS: [(&str, &[&str]); 10] = [
    ("household_id", &["户编号", "家庭编号", "户号"]),
    ("region_code", &["行政区划代码", "区划代码"]),
    ("residence", &["城乡", "城乡类别", "户籍类别"]),
    ("category", &["类别", "救助类别"]),
    ("status", &["状态", "保障状态"]),
    ("member_id", &["成员编号", "人员编号"]),
    ("age", &["年龄"]),
    ("able_bodied", &["有劳动能力", "是否有劳动能力"]),
    ("has_income_proof", &["有收入证明", "是否有收入证明"]),
    ("incomes", &["收入", "月收入"]),
];

/// Whether a header cell names `column`, in English or in one of its Chinese names.
fn header_is(cell: &str, column: &str) -> bool {
    let cell = cell.trim_start_matches('\u{feff}').trim();
    cell == column || CHINESE_HEADERS.iter().any(|(c, names)| *c == column && names.contains(&cell))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: i64,
    pub field: String,
    pub message: String,
}

pub(crate) fn yes_no(s: &str) -> Option<bool> {
    // Without a lower-cased copy of the cell (two a row of a million-household roll).
    let s = s.trim();
    let is = |words: &[&str]| words.iter().any(|w| s.eq_ignore_ascii_case(w));
    if is(&["true", "yes", "y", "1", "是"]) {
        Some(true)
    } else if is(&["false", "no", "n", "0", "否", ""]) {
        Some(false)
    } else {
        None
    }
}

pub(crate) fn residence(s: &str) -> Option<Residence> {
    match s.trim() {
        "urban" | "城市" | "城镇" | "URBAN" => Some(Residence::Urban),
        "rural" | "农村" | "RURAL" => Some(Residence::Rural),
        _ => None,
    }
}

/// "wage:900;pension:200.50" (yuan per month) → incomes.
pub(crate) fn incomes(s: &str) -> Result<Vec<Income>, String> {
    let mut out = Vec::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, amount) = part.split_once(':').ok_or_else(|| format!("'{part}': write kind:yuan, e.g. wage:900"))?;
        let monthly = Fen::parse_yuan(amount).map_err(|e| format!("'{part}': {e}"))?;
        if monthly.is_negative() {
            return Err(format!("'{part}': income must not be negative"));
        }
        out.push(Income { kind: kind.trim().to_string(), monthly });
    }
    // Most people have one income: keep room for what they have (an import holds millions).
    out.shrink_to_fit();
    Ok(out)
}

/// Find each column in the header row (in English or Chinese); a missing column is an error
/// on row 1 saying what to name it (`status` may be left out).
/// Where each of [`COLUMNS`] is in the file (by its place in `COLUMNS`), from the header row.
pub(crate) type ColumnPlaces = [Option<usize>; COLUMNS.len()];

pub(crate) fn header_columns(row: &[&str], col: &mut ColumnPlaces) -> Vec<RowError> {
    let mut errors = Vec::new();
    for (k, name) in COLUMNS.into_iter().enumerate() {
        match row.iter().position(|h| header_is(h, name)) {
            Some(i) => {
                col[k] = Some(i);
            }
            None if name == "status" => {}
            None => errors.push(RowError {
                row: 1,
                field: name.into(),
                message: format!(
                    "missing column: name it {name}{}",
                    CHINESE_HEADERS
                        .iter()
                        .find(|(c, _)| *c == name)
                        .map(|(_, zh)| format!(" or {}", zh.join(" / ")))
                        .unwrap_or_default()
                ),
            }),
        }
    }
    errors
}

fn member_cells(r: &RollRecord) -> Vec<[String; 12]> {
    let h = &r.household;
    h.members()
        .iter()
        .map(|m| {
            [
                h.id.clone(),
                h.region.to_string(),
                h.residence.as_str().to_string(),
                r.category.as_str().to_string(),
                r.status.as_str().to_string(),
                m.id.clone(),
                m.age.to_string(),
                m.able_bodied.to_string(),
                m.has_income_proof.to_string(),
                m.incomes.iter().map(|i| format!("{}:{}", i.kind, i.monthly)).collect::<Vec<_>>().join(";"),
                r.monthly_benefit.to_string(),
                r.computed_on.to_string(),
            ]
        })
        .collect()
}

/// The columns an export has beyond the import's.
const EXPORT_EXTRA: [&str; 2] = ["monthly_benefit_yuan", "computed_on"];

/// Export columns: the import columns plus the approved benefit (yuan) and its date, so an
/// exported file can be imported again.
pub fn export(format: Format, records: &[RollRecord]) -> Result<Vec<u8>, String> {
    let mut header: Vec<&str> = COLUMNS.to_vec();
    header.extend(EXPORT_EXTRA);
    let rows: Vec<[String; 12]> = records.iter().flat_map(member_cells).collect();
    civic_runtime::tabular::write(format, &header, rows.iter().map(|r| r.as_slice()))
}

/// The CSV export of a snapshot, handed out in pieces of about `piece` bytes as the households
/// are read (the same bytes as [`export`]); `send` returns false when nobody listens any more.
/// The first piece (the header at least) is flagged.
pub async fn export_csv_pieces<F, Fut>(
    snapshot: &mut crate::store::roll::RollSnapshot,
    piece: usize,
    mut send: F,
) -> Result<(), civic_runtime::ApiError>
where
    F: FnMut(Vec<u8>, bool) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let failed = |e: csv::Error| civic_runtime::ApiError::Internal(format!("writing the export: {e}"));
    let mut header: Vec<&str> = COLUMNS.to_vec();
    header.extend(EXPORT_EXTRA);
    let mut w = csv::Writer::from_writer(Vec::with_capacity(piece + piece / 4));
    w.write_record(&header).map_err(failed)?;
    let mut first = true;
    loop {
        let page = snapshot.next_page().await?;
        if page.is_empty() {
            break;
        }
        for record in &page {
            for row in member_cells(record) {
                w.write_record(&row).map_err(failed)?;
            }
            w.flush().map_err(|e| civic_runtime::ApiError::Internal(format!("writing the export: {e}")))?;
            if w.get_ref().len() >= piece {
                let mut out = w
                    .into_inner()
                    .map_err(|e| civic_runtime::ApiError::Internal(format!("writing the export: {e}")))?;
                let mut rest = out.split_off(piece);
                rest.reserve(piece + piece / 4);
                w = csv::Writer::from_writer(rest);
                if !send(out, std::mem::take(&mut first)).await {
                    return Ok(());
                }
            }
        }
    }
    let out = w.into_inner().map_err(|e| civic_runtime::ApiError::Internal(format!("writing the export: {e}")))?;
    for (i, part) in out.chunks(piece).enumerate() {
        if !send(part.to_vec(), first && i == 0).await {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_and_no_in_any_case_and_in_chinese() {
        for yes in ["true", "TRUE", " Yes ", "y", "Y", "1", "是"] {
            assert_eq!(yes_no(yes), Some(true), "{yes}");
        }
        for no in ["false", "False", "NO", "n", "0", "否", "", "  "] {
            assert_eq!(yes_no(no), Some(false), "{no}");
        }
        for neither in ["maybe", "2", "yes!", "是的", "t"] {
            assert_eq!(yes_no(neither), None, "{neither}");
        }
    }
}
