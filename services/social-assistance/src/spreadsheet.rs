//! Rosters as spreadsheets: one row per member, CSV or XLSX, in and out. Every problem is
//! reported with its row (the header is row 1) and column; a file with any problem stores
//! nothing.

use std::collections::BTreeMap;

use civic_domain::{region::RegionTree, Fen, RegionCode};
pub use civic_runtime::tabular::{for_each_row, Format};

use crate::{
    roll::{Category, RollRecord, Status},
    rules::household::{Household, Income, Member, Residence},
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

/// A household assembled from rows, before its benefit is computed.
#[derive(Debug, Clone)]
pub struct ParsedHousehold {
    pub household: Household,
    pub category: Category,
    pub status: Status,
    pub first_row: i64,
}

fn yes_no(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" | "是" => Some(true),
        "false" | "no" | "n" | "0" | "否" | "" => Some(false),
        _ => None,
    }
}

fn residence(s: &str) -> Option<Residence> {
    match s.trim() {
        "urban" | "城市" | "城镇" | "URBAN" => Some(Residence::Urban),
        "rural" | "农村" | "RURAL" => Some(Residence::Rural),
        _ => None,
    }
}

/// "wage:900;pension:200.50" (yuan per month) → incomes.
fn incomes(s: &str) -> Result<Vec<Income>, String> {
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

/// At most this many row errors are reported; the rest are counted.
const MAX_ERRORS: usize = 1000;

struct Acc {
    region: RegionCode,
    residence: Residence,
    category: Category,
    status: Status,
    members: Vec<Member>,
    first_row: i64,
    /// The row of each member: a member is one person, so a repeated id or an identical row is
    /// an error, not another person (checked against `members`, no copy of the rows kept).
    rows: Vec<i64>,
}

/// The same person written twice: the same member id, or an identical row.
fn same_row(a: &Member, b: &Member) -> bool {
    a.id == b.id
        && a.age == b.age
        && a.able_bodied == b.able_bodied
        && a.has_income_proof == b.has_income_proof
        && a.incomes.len() == b.incomes.len()
        && a.incomes.iter().zip(&b.incomes).all(|(x, y)| x.kind == y.kind && x.monthly == y.monthly)
}

/// Parse a roster into households, all within `scope`. Every problem is collected (up to
/// 1000, then counted), each with its row and column.
pub fn parse(
    format: Format,
    content: &[u8],
    tree: &RegionTree,
    scope: RegionCode,
) -> Result<Vec<ParsedHousehold>, Vec<RowError>> {
    let mut errors: Vec<RowError> = Vec::new();
    let mut col: BTreeMap<&str, usize> = BTreeMap::new();
    let mut header_ok: Option<bool> = None;
    let mut dropped = 0usize;
    let mut households: BTreeMap<String, Acc> = BTreeMap::new();
    let read = for_each_row(format, content, |rn, row| {
        let Some(ok) = header_ok else {
            for name in COLUMNS {
                match row.iter().position(|h| header_is(h, name)) {
                    Some(i) => {
                        col.insert(name, i);
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
            header_ok = Some(errors.is_empty());
            return;
        };
        if !ok || row.iter().all(|c| c.is_empty()) {
            return;
        }
        if errors.len() >= MAX_ERRORS {
            dropped += 1;
            return;
        }
        parse_row(rn, row, &col, tree, scope, &mut households, &mut errors);
    });
    if let Err(e) = read {
        errors.push(RowError { row: 0, field: String::new(), message: e });
    }
    if header_ok.is_none() {
        errors.push(RowError { row: 1, field: String::new(), message: "the file is empty".into() });
    }
    if dropped > 0 {
        errors.push(RowError {
            row: 0,
            field: String::new(),
            message: format!("{dropped} more rows not checked after {MAX_ERRORS} errors"),
        });
    }
    let mut out = Vec::with_capacity(households.len());
    for (id, acc) in households {
        match Household::new(id, acc.region, acc.residence, acc.members, "household") {
            Ok(h) => out.push(ParsedHousehold {
                household: h,
                category: acc.category,
                status: acc.status,
                first_row: acc.first_row,
            }),
            Err(v) => errors.extend(v.into_iter().map(|v| RowError {
                row: acc.first_row,
                field: v.field,
                message: v.description,
            })),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|e| e.row);
        Err(errors)
    }
}

fn parse_row(
    rn: i64,
    row: &[&str],
    col: &BTreeMap<&str, usize>,
    tree: &RegionTree,
    scope: RegionCode,
    households: &mut BTreeMap<String, Acc>,
    errors: &mut Vec<RowError>,
) {
    let get = |name: &str| col.get(name).and_then(|&c| row.get(c)).copied().unwrap_or("");
    let mut err = |field: &str, message: String| errors.push(RowError { row: rn, field: field.into(), message });
    let id = get("household_id");
    if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
        err("household_id", "required, at most 64 characters, no control characters".into());
        return;
    }
    let region = match tree.resolve(get("region_code")) {
        Ok(r) if tree.is_within(r.code, scope) => Some(r.code),
        Ok(r) => {
            err("region_code", format!("{} is outside the import region {scope}", r.code));
            None
        }
        Err(e) => {
            err("region_code", e.to_string());
            None
        }
    };
    let res = residence(get("residence"));
    if res.is_none() {
        err("residence", format!("'{}': urban/rural or 城市/农村", get("residence")));
    }
    let cat = Category::parse(get("category"));
    if cat.is_none() {
        err("category", format!("'{}': dibao or low_income", get("category")));
    }
    let status = if get("status").is_empty() { Some(Status::Active) } else { Status::parse(get("status")) };
    if status.is_none() {
        err("status", format!("'{}': active, suspended or closed", get("status")));
    }
    let age = get("age").parse::<u32>().ok().filter(|a| *a <= 130);
    if age.is_none() {
        err("age", format!("'{}': whole years, 0–130", get("age")));
    }
    let able = yes_no(get("able_bodied"));
    if able.is_none() {
        err("able_bodied", format!("'{}': true/false or 是/否", get("able_bodied")));
    }
    let proof = yes_no(get("has_income_proof"));
    if proof.is_none() {
        err("has_income_proof", format!("'{}': true/false or 是/否", get("has_income_proof")));
    }
    let inc = match incomes(get("incomes")) {
        Ok(v) => Some(v),
        Err(e) => {
            err("incomes", e);
            None
        }
    };
    let (Some(region), Some(res), Some(cat), Some(status), Some(age), Some(able), Some(proof), Some(inc)) =
        (region, res, cat, status, age, able, proof, inc)
    else {
        return;
    };
    let member_id = get("member_id").trim();
    let member = Member { id: member_id.to_string(), age, able_bodied: able, has_income_proof: proof, incomes: inc };
    if let Some(acc) = households.get(id) {
        // Checked before the members are compared, so a file cannot make that comparison long.
        if acc.members.len() >= crate::rules::household::MAX_MEMBERS {
            let max = crate::rules::household::MAX_MEMBERS;
            err("household_id", format!("household {id} has more than {max} members: it is not one household"));
            return;
        }
        if let Some(i) = acc.members.iter().position(|m| !member_id.is_empty() && m.id == member_id) {
            let first = acc.rows[i];
            err("member_id", format!("member {member_id} of household {id} is already on row {first}"));
            return;
        }
        if let Some(i) = acc.members.iter().position(|m| same_row(m, &member)) {
            let first = acc.rows[i];
            err(
                "member_id",
                format!(
                    "identical to row {first} of household {id}: a repeated row is not another person; \
                     give two people with the same details their own member_id"
                ),
            );
            return;
        }
    }
    match households.get_mut(id) {
        Some(acc) => {
            if acc.region != region || acc.residence != res || acc.category != cat || acc.status != status {
                err(
                    "household_id",
                    format!(
                        "household {id} has different region, residence, category or status than on row {}",
                        acc.first_row
                    ),
                );
                return;
            }
            // Exactly as many as there are members: a million households with room for four
            // members each would hold a hundred megabytes of nothing during an import.
            acc.members.reserve_exact(1);
            acc.members.push(member);
            acc.rows.reserve_exact(1);
            acc.rows.push(rn);
        }
        None => {
            let acc = Acc {
                region,
                residence: res,
                category: cat,
                status,
                members: vec![member],
                first_row: rn,
                rows: vec![rn],
            };
            households.insert(id.to_string(), acc);
        }
    }
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

/// Export columns: the import columns plus the approved benefit (yuan) and its date, so an
/// exported file can be imported again.
pub fn export(format: Format, records: &[RollRecord]) -> Result<Vec<u8>, String> {
    let mut header: Vec<&str> = COLUMNS.to_vec();
    header.extend(["monthly_benefit_yuan", "computed_on"]);
    let rows: Vec<[String; 12]> = records.iter().flat_map(member_cells).collect();
    civic_runtime::tabular::write(format, &header, rows.iter().map(|r| r.as_slice()))
}
