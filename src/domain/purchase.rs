//! Purchase orders as a POS with a purchase-order module of its own takes them (Lightspeed's
//! supplier consignments), and what it says has arrived against them.

use super::ids::{LocationId, VariationId, VendorId};
use super::money::Money;
use super::quantity::Quantity;

/// An approved purchase order, as placed with the POS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupplierOrder {
    /// The number the shop and the vendor use (`PO-1043`); the POS's order is found again by it.
    pub number: String,
    /// The POS's own id of the vendor, when the vendor came from the POS (not only from the
    /// configuration).
    pub vendor_id: Option<VendorId>,
    pub location_id: LocationId,
    pub lines: Vec<SupplierOrderLine>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupplierOrderLine {
    pub variation_id: VariationId,
    pub quantity: Quantity,
    pub unit_cost: Money,
}

/// What the POS has booked in against a purchase order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The POS's id of the order.
    pub pos_order_id: String,
    /// Received per variation; lines not listed had nothing received.
    pub lines: Vec<(VariationId, Quantity)>,
}

impl Receipt {
    pub fn received(&self, variation: &VariationId) -> Quantity {
        self.lines.iter().filter(|(v, _)| v == variation).map(|(_, q)| *q).fold(Quantity::ZERO, |a, b| a + b)
    }
}
