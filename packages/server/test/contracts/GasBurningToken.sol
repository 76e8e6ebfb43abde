// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// A token-shaped contract an attacker points a facilitator's `asset` at: its EIP-3009 `transferWithAuthorization`
/// checks nothing, burns gas on a fixed amount of work and emits the `Transfer` a naive facilitator looks for.
/// Test only (packages/server/test/gasBurningToken.ts holds its compiled code).
contract GasBurningToken {
    event Transfer(address indexed from, address indexed to, uint256 value);

    /// Keccak rounds per call: about 13 M gas.
    uint256 public rounds = 200_000;
    bytes32 public last;

    function setRounds(uint256 newRounds) external {
        rounds = newRounds;
    }

    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256,
        uint256,
        bytes32 nonce,
        uint8,
        bytes32,
        bytes32
    ) external {
        burn(nonce);
        emit Transfer(from, to, value);
    }

    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256,
        uint256,
        bytes32 nonce,
        bytes calldata
    ) external {
        burn(nonce);
        emit Transfer(from, to, value);
    }

    function authorizationState(address, bytes32) external pure returns (bool) {
        return false;
    }

    function balanceOf(address) external pure returns (uint256) {
        return type(uint128).max;
    }

    function burn(bytes32 seed) private {
        bytes32 h = seed;
        uint256 n = rounds;
        // In the scratch space: no memory growth, so the cost is linear in the rounds.
        assembly {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                mstore(0, h)
                mstore(32, i)
                h := keccak256(0, 64)
            }
        }
        last = h;
    }
}
