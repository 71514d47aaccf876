//! Who is calling: tenant, user and roles from the API Gateway JWT authorizer's claims, never
//! from the request body.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;
use std::collections::HashMap;

use crate::problem::ApiError;
use crm_model::ids::{TenantId, UserId};

/// The caller, as the authorizer vouched for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    pub user: UserId,
    pub admin: bool,
}

/// Claims that name the tenant, in order of preference (a Cognito custom attribute first).
const TENANT_CLAIMS: [&str; 2] = ["custom:tenant_id", "tenant_id"];
/// Claims that carry roles or groups; API Gateway flattens a JSON array to `[a b]`.
const ROLE_CLAIMS: [&str; 2] = ["cognito:groups", "roles"];
const ADMIN_ROLES: [&str; 2] = ["admin", "administrator"];

impl Caller {
    /// Reads the caller from JWT claims as the HTTP API authorizer passes them on.
    pub fn from_claims(claims: &HashMap<String, String>) -> Result<Self, ApiError> {
        let tenant = TENANT_CLAIMS
            .iter()
            .find_map(|c| claims.get(*c))
            .ok_or(ApiError::Unauthenticated("the token names no tenant"))?;
        let tenant = TenantId::new(tenant.as_str())
            .map_err(|_| ApiError::Unauthenticated("the token's tenant is not a valid id"))?;
        let user = claims
            .get("sub")
            .ok_or(ApiError::Unauthenticated("the token has no subject"))?;
        let user = UserId::new(user.as_str())
            .map_err(|_| ApiError::Unauthenticated("the token's subject is not a valid id"))?;
        let admin = ROLE_CLAIMS
            .iter()
            .filter_map(|c| claims.get(*c))
            .any(|roles| {
                roles
                    .trim_matches(|c| c == '[' || c == ']')
                    .split([' ', ','])
                    .any(|role| ADMIN_ROLES.contains(&role.trim().to_lowercase().as_str()))
            });
        Ok(Caller {
            tenant,
            user,
            admin,
        })
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// JWT claims put on a request by a local entry point (the Lambda path carries them in the
/// API Gateway request context instead).
#[derive(Debug, Clone, Default)]
pub struct LocalClaims(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>() {
            let claims = ctx
                .authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .map(|jwt| &jwt.claims);
            return match claims {
                Some(claims) => Caller::from_claims(claims),
                None => Err(ApiError::Unauthenticated("no JWT authorizer claims")),
            };
        }
        match parts.extensions.get::<LocalClaims>() {
            Some(LocalClaims(claims)) => Caller::from_claims(claims),
            None => Err(ApiError::Unauthenticated("no credentials")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tenant_user_and_admin_come_from_claims() {
        let caller = Caller::from_claims(&claims(&[
            ("custom:tenant_id", "acme"),
            ("sub", "u-1"),
            ("cognito:groups", "[sales Admin]"),
        ]))
        .unwrap();
        assert_eq!(
            (caller.tenant.as_str(), caller.user.as_str(), caller.admin),
            ("acme", "u-1", true)
        );
        let sales = Caller::from_claims(&claims(&[
            ("tenant_id", "acme"),
            ("sub", "u-2"),
            ("roles", "sales"),
        ]))
        .unwrap();
        assert!(!sales.admin);
        assert!(sales.require_admin().is_err());
    }

    #[test]
    fn missing_or_malformed_claims_are_unauthenticated() {
        assert!(Caller::from_claims(&claims(&[("sub", "u")])).is_err());
        assert!(Caller::from_claims(&claims(&[("tenant_id", "a#b"), ("sub", "u")])).is_err());
        assert!(Caller::from_claims(&claims(&[("tenant_id", "a")])).is_err());
    }
}
