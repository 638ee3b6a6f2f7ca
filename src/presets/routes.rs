//! Routes of administration: where injected cells enter the circulation (MODEL.md,
//! "Routes of administration"), and the kinetics of the local depots.

use super::choice_enum;
use crate::sourced::Sourced;

choice_enum! {
    /// How the cells are given.
    pub enum Route {
        /// Intravenous, into a peripheral vein: venous blood, lungs first.
        PeripheralVein => "peripheral_vein",
        /// Into the hepatic artery: first pass through the liver, no portal shunt.
        HepaticArtery => "hepatic_artery",
        /// Into the portal vein: first pass through the liver, minus the shunt.
        PortalVein => "portal_vein",
        /// Into the splenic pulp: a depot released through the spleen to the portal vein.
        Intrasplenic => "intrasplenic",
        /// Into the liver parenchyma: a depot that engrafts in place or washes into sinusoids.
        Intrahepatic => "intrahepatic",
        /// Into the peritoneum (animal studies): a depot absorbed slowly to venous blood.
        Intraperitoneal => "intraperitoneal",
        /// Into a systemic artery (e.g. iliac, femoral, carotid; animal studies): one pass
        /// through the capillary bed it feeds, before the cells reach the veins.
        SystemicArtery => "systemic_artery",
    }
}

/// The point of the circulation where a route's cells arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// The venous blood compartment.
    Venous,
    /// The liver inflow: one pass through the liver sinusoids.
    LiverInflow,
    /// The portal vein: the shunt, then one pass through the liver.
    Portal,
    /// A local depot at the injection site.
    Depot(DepotSite),
    /// A systemic artery: one first pass through the capillary bed of `other`.
    SystemicBed,
}

/// A local injection site, whose cells leave by a route-specific path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepotSite {
    /// Splenic pulp: released through the spleen into the portal vein.
    Spleen,
    /// Liver parenchyma: engrafts in place or washes into the sinusoids.
    Liver,
    /// Peritoneal cavity: absorbed via lymph to venous blood.
    Peritoneum,
}

impl Route {
    /// Where this route's cells enter.
    pub const fn entry(self) -> Entry {
        match self {
            Route::PeripheralVein => Entry::Venous,
            Route::HepaticArtery => Entry::LiverInflow,
            Route::PortalVein => Entry::Portal,
            Route::Intrasplenic => Entry::Depot(DepotSite::Spleen),
            Route::Intrahepatic => Entry::Depot(DepotSite::Liver),
            Route::Intraperitoneal => Entry::Depot(DepotSite::Peritoneum),
            Route::SystemicArtery => Entry::SystemicBed,
        }
    }

    /// The depot this route fills, if any.
    pub const fn depot(self) -> Option<DepotSite> {
        match self.entry() {
            Entry::Depot(site) => Some(site),
            _ => None,
        }
    }
}

/// Depot kinetics (per hour).
#[derive(Debug, Clone, Copy)]
pub struct DepotKinetics {
    /// Release of intrasplenic cells into the splenic circulation.
    pub intrasplenic_release_per_h: Sourced,
    /// Engraftment in place of intrahepatically injected cells.
    pub intrahepatic_engraftment_per_h: Sourced,
    /// Wash-out of intrahepatically injected cells into the sinusoids.
    pub intrahepatic_washout_per_h: Sourced,
    /// Absorption of intraperitoneal cells to venous blood.
    pub intraperitoneal_absorption_per_h: Sourced,
    /// Death of cells at any depot.
    pub death_per_h: Sourced,
}

/// Depot kinetics, mostly assumed: few studies time the departure of cells from a depot.
pub const DEPOT: DepotKinetics = DepotKinetics {
    intrasplenic_release_per_h: Sourced::assumed(
        0.23,
        "release half-life of 3 h: intrasplenic stem cells (ESCs, mouse) reached the spleen \
         at 0.5 h and the liver at 3 h and filled it by 24 h (Ezzat et al. 2012, second-hand \
         in a 2016 SCRT review)",
    ),
    intrahepatic_engraftment_per_h: Sourced::assumed(
        0.01,
        "part of an intrahepatic injection engrafts in place (MODEL.md); no rate found",
    ),
    intrahepatic_washout_per_h: Sourced::assumed(
        0.05,
        "most of an intrahepatic injection is taken to wash into the sinusoids within a day; \
         no rate found",
    ),
    intraperitoneal_absorption_per_h: Sourced::assumed(
        0.005,
        "lymphatic absorption of cells from the peritoneum is slow (days); no rate found",
    ),
    death_per_h: Sourced::cited(
        0.0273,
        "as trapped cells: 14 % of arrested MSCs remained at 3 days (Toma et al. 2009, \
         PMC3700384)",
    ),
};
