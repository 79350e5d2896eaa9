// The AWS fixture (moto-backed) is written by the AWS adapters engineer; this placeholder keeps the suite compiling.
