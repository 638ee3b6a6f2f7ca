//! Exports of a scenario's model to the formats other tools read: SBML for systems-biology
//! and pharmacology simulators (COPASI, libRoadRunner/Tellurium, PK-Sim/MoBi).

mod expr;
mod flows;
mod mechanisms;
pub mod sbml;
