// Keysight (Agilent) 34461A digital multimeter over LAN (SCPI on the raw socket, port 5025):
// `keysight.34461a`, a preset of ScpiDriver. After each Connect it checks `*IDN?` names a
// 34461A, sends `*CLS`, `CONF:<function> <range>`, `<function>:NPLC <nplc>` (DC and resistance
// functions only), `TRIG:SOUR IMM`, `TRIG:COUN 1`, `SAMP:COUN 1`, drains `SYST:ERR?` (any error
// fails Configure), then polls `READ?` (one reading per poll, wall-clock timestamps).
//
// Follows: Keysight Truevolt Series DMM Operating and Service Guide (34460A/61A/65A/70A), SCPI
// Programming Reference: "CONFigure Subsystem" (CONFigure[:VOLTage]:{AC|DC} [range]), "READ?",
// "TRIGger Subsystem" (TRIG:SOUR, TRIG:COUN), "SAMPle Subsystem" (SAMP:COUN), "SYSTem:ERRor?",
// "[SENSe:]VOLTage[:DC]:NPLC", IEEE-488 Common Commands (*IDN?, *CLS). The command quick
// reference of the same guide lists them all. Readings come back as NR3 text
// ("+1.00000000E+00"). DATA:REMove? (hardware-timed bursts) is not used yet.
//
// Ownership and threading: as every driver.
#pragma once

#include <vector>

#include "arrowdaq/core/options.h"
#include "arrowdaq/instruments/scpi_driver.h"

namespace arrowdaq::instruments {

/// Return the options of keysight.34461a (function, range, nplc, rate_hz, batch_size,
/// timeout_ms, terminators).
std::vector<OptionSpec> Keysight34461aOptionSpecs();

/// Build the ScpiDriver preset for options resolved against Keysight34461aOptionSpecs().
Result<std::unique_ptr<ScpiDriver>> MakeKeysight34461a(const ResolvedOptions& options);

/// Register keysight.34461a.
Status RegisterKeysight34461a(DriverRegistry& registry);

}  // namespace arrowdaq::instruments
