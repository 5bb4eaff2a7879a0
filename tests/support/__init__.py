"""The one package of helpers the test suites share (test modules import no other test
module): Graph's fixtures and fakes, row factories, operators, WAV files, misbehaving hosts,
the emulator and the running system as tests drive them."""
