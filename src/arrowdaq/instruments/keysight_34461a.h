// Keysight (Agilent) 34461A digital multimeter over LAN (SCPI on the raw socket, port 5025):
// `keysight.34461a`, a preset of ScpiDriver. After each Connect it checks `*IDN?` names a
// 34461A, clears the status (`*CLS`), sends `CONF:<function> <range>`, `<function>:NPLC <nplc>`
// and `<function>:ZERO:AUTO ON|OFF` (DC and resistance functions), `TRIG:SOUR IMM`,
// `TRIG:COUN 1`, `SAMP:COUN 1`, draining `SYST:ERR?` after each (an error names its command),
// then polls `READ?` (one reading per poll, wall-clock timestamps). The meter's overload reading
// +/-9.9E+37 is stored as +/-inf with an `overload` event (ScpiDriver), never as a number.
//
// Integration time: the 34461A integrates 0.02, 0.2, 1, 10 or 100 power-line cycles and nothing
// else (other values are refused when the options are checked, so `arrowdaq validate` refuses
// them); with autozero on, each reading also takes a zero reading of the same length. So one
// reading takes at least nplc / line_frequency_hz (x 2 with autozero): the READ? timeout is
// timeout_ms plus that, and a rate_hz above 1 / that is refused (10 PLC at 50 Hz with
// autozero: 0.4 s, at most 2.5 readings/s).
//
// Follows: Keysight Truevolt Series DMM Operating and Service Guide (34460A/61A/65A/70A), SCPI
// Programming Reference: "CONFigure Subsystem", "READ?", "TRIGger Subsystem", "SAMPle
// Subsystem", "SYSTem:ERRor?", "[SENSe:]CURRent[:DC]:NPLC" (p. 195 of the Agilent edition:
// "{0.02|0.2|1|10|100}, default 10") and its VOLTage and RESistance siblings,
// "[SENSe:]...:ZERO:AUTO", IEEE-488 Common Commands (*IDN?, *CLS). Checked against QCoDeS
// `Keysight_344xxA_submodules.py` (PLCs['34461A'] = [0.02, 0.2, 1, 10, 100]) and SCPI-99
// volume 1, 7.2.1.5 (9.9E+37 is INFinity, -9.9E+37 NINFinity, 9.91E+37 NAN). DATA:REMove?
// (hardware-timed bursts) is not used yet.
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
