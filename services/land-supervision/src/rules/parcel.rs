//! A parcel's closed sets: its land use, how it was supplied, and its status along its life
//! (PLANNED → SOLD → UNDER_CONSTRUCTION → COMPLETED → IN_PRODUCTION, or RECOVERED from any).

closed_set! {
    /// What the parcel is for.
    LandUse {
        Industrial = "INDUSTRIAL",
        Warehouse = "WAREHOUSE",
        NewTypeIndustrial = "NEW_TYPE_INDUSTRIAL",
        Other = "OTHER",
    }
}

closed_set! {
    /// How the land was supplied ("标准地", flexible term, lease then sell, long lease).
    SupplyMode {
        StandardLand = "STANDARD_LAND",
        FlexibleTerm = "FLEXIBLE_TERM",
        LeaseThenSell = "LEASE_THEN_SELL",
        LongLease = "LONG_LEASE",
        Other = "OTHER",
    }
}

closed_set! {
    /// Where a parcel is in its life; the order of the variants is the order of the life.
    ParcelStatus {
        Planned = "PLANNED",
        Sold = "SOLD",
        UnderConstruction = "UNDER_CONSTRUCTION",
        Completed = "COMPLETED",
        InProduction = "IN_PRODUCTION",
        /// Taken back (收回): from any status, and for good.
        Recovered = "RECOVERED",
    }
}

impl ParcelStatus {
    /// Whether a parcel may go from `self` to `to`: forward along its life, to RECOVERED from
    /// anywhere, never out of RECOVERED; staying is always allowed.
    pub fn may_move(self, to: ParcelStatus) -> bool {
        self == to || (self != ParcelStatus::Recovered && (to == ParcelStatus::Recovered || to > self))
    }
}

#[cfg(test)]
mod tests {
    use super::ParcelStatus as S;

    #[test]
    fn a_parcel_moves_forward_or_is_recovered() {
        assert!(S::Planned.may_move(S::Sold) && S::Sold.may_move(S::InProduction));
        assert!(!S::Completed.may_move(S::Sold));
        assert!(S::UnderConstruction.may_move(S::Recovered) && !S::Recovered.may_move(S::Planned));
        assert!(S::Recovered.may_move(S::Recovered));
        assert_eq!(S::parse("SOLD"), Some(S::Sold));
        assert_eq!(S::parse("sold"), None);
        assert_eq!(S::names(), "PLANNED, SOLD, UNDER_CONSTRUCTION, COMPLETED, IN_PRODUCTION or RECOVERED");
    }
}
