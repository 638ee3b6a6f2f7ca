//! The model's state: one `Compartment` per place a cell can be (MODEL.md, "State").
//!
//! One enum gives CSV headers, plot legends and matrix positions, so no other module
//! indexes the state vector by number.

use nalgebra::{SMatrix, SVector};

/// Number of states in the model.
pub const N: usize = 9;

/// A vector of cell counts, one per compartment (cells).
pub type State = SVector<f64, N>;

/// A square matrix over the states (the rate matrix and its propagators).
pub type StateMatrix = SMatrix<f64, N, N>;

/// Where a cell is. Names and meanings follow MODEL.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Compartment {
    /// Circulating cells before the lungs.
    BloodVenous,
    /// Circulating cells after the lungs.
    BloodArterial,
    /// Cells trapped in pulmonary capillaries.
    Lung,
    /// Cells arrested in liver sinusoids, not yet engrafted.
    LiverSinusoid,
    /// Cells that left the vessels and settled in the liver parenchyma.
    LiverEngrafted,
    /// Cells trapped in the spleen.
    Spleen,
    /// Cells trapped elsewhere (kidney, gut, bone marrow, muscle, ...).
    Other,
    /// Cells still at a local injection site.
    Depot,
    /// Cumulative cells cleared (death, phagocytosis): a sink.
    Dead,
}

impl Compartment {
    /// Every compartment, in state-vector order.
    pub const ALL: [Compartment; N] = [
        Compartment::BloodVenous,
        Compartment::BloodArterial,
        Compartment::Lung,
        Compartment::LiverSinusoid,
        Compartment::LiverEngrafted,
        Compartment::Spleen,
        Compartment::Other,
        Compartment::Depot,
        Compartment::Dead,
    ];

    /// Position in the state vector.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The state's name as written in MODEL.md, CSV headers and plot legends.
    pub const fn name(self) -> &'static str {
        match self {
            Compartment::BloodVenous => "blood_venous",
            Compartment::BloodArterial => "blood_arterial",
            Compartment::Lung => "lung",
            Compartment::LiverSinusoid => "liver_sinusoid",
            Compartment::LiverEngrafted => "liver_engrafted",
            Compartment::Spleen => "spleen",
            Compartment::Other => "other",
            Compartment::Depot => "depot",
            Compartment::Dead => "dead",
        }
    }

    /// Whether cells here are alive (everything but the `dead` sink).
    pub const fn is_live(self) -> bool {
        !matches!(self, Compartment::Dead)
    }

    /// A state vector with one cell here and none elsewhere.
    pub fn unit(self) -> State {
        let mut x = State::zeros();
        x[self.index()] = 1.0;
        x
    }
}

/// Sums of compartments that the outputs report (MODEL.md: `blood`, `liver`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// `blood_venous + blood_arterial`.
    Blood,
    /// `liver_sinusoid + liver_engrafted`.
    Liver,
}

impl Total {
    /// Both totals, in output order.
    pub const ALL: [Total; 2] = [Total::Blood, Total::Liver];

    /// Column and legend name.
    pub const fn name(self) -> &'static str {
        match self {
            Total::Blood => "blood",
            Total::Liver => "liver",
        }
    }

    /// The compartments summed.
    pub const fn parts(self) -> [Compartment; 2] {
        match self {
            Total::Blood => [Compartment::BloodVenous, Compartment::BloodArterial],
            Total::Liver => [Compartment::LiverSinusoid, Compartment::LiverEngrafted],
        }
    }

    /// The row vector `c` with `c . x` = this total.
    pub fn weights(self) -> State {
        self.parts().iter().map(|c| c.unit()).sum()
    }

    /// This total of a state.
    pub fn of(self, x: &State) -> f64 {
        self.parts().iter().map(|c| x[c.index()]).sum()
    }
}
