//! The closed sets of the "散乱污" registry (漯发〔2020〕13号): an enterprise's sector, its
//! disposition — ban (取缔), rectify (规范), relocate or upgrade (提升/搬迁入园) —, whether it is
//! still open, and who found it (the county, or a higher inspection, counted apart).

closed_set! {
    Sector {
        Industrial = "INDUSTRIAL",
        Agricultural = "AGRICULTURAL",
        Services = "SERVICES",
    }
}

closed_set! {
    Disposition {
        Ban = "BAN",
        Rectify = "RECTIFY",
        Relocate = "RELOCATE",
    }
}

closed_set! {
    EntryStatus {
        Open = "OPEN",
        Done = "DONE",
    }
}

closed_set! {
    FoundBy {
        Local = "LOCAL",
        HigherInspection = "HIGHER_INSPECTION",
    }
}
