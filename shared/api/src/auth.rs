//! Who is calling: the tenant and subject from the API Gateway JWT authorizer's claims (never
//! from the request body), checked on every request against the stored user of that tenant,
//! whose role is the one that counts.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use lambda_http::request::RequestContext;
use std::collections::HashMap;

use crate::problem::ApiError;
use crm_model::clock::Clock;
use crm_model::ids::{TenantId, UserId};
use crm_model::ports::UserDirectory;
use crm_model::user::membership::{Claimed, Membership, MembershipCache};
use crm_model::user::{Role, User};

/// The caller: an active user of the tenant the token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    pub user: UserId,
    /// The stored role (the token's groups do not count).
    pub admin: bool,
    /// The stored user, as read for this request.
    pub stored: User,
}

/// What an API's state lends the caller check: the tenant's users and the sandbox's cache.
pub trait Members {
    fn users(&self) -> &dyn UserDirectory;
    fn membership_cache(&self) -> &MembershipCache;
    fn clock(&self) -> &dyn Clock;
}

/// Claims that name the tenant, in order of preference (a Cognito custom attribute first).
const TENANT_CLAIMS: [&str; 2] = ["custom:tenant_id", "tenant_id"];
/// Claims that carry roles or groups; API Gateway flattens a JSON array to `[a b]`.
const ROLE_CLAIMS: [&str; 2] = ["cognito:groups", "roles"];
const ADMIN_ROLES: [&str; 2] = ["admin", "administrator"];

impl Caller {
    /// Reads what the token claims (tenant, subject, groups) as the HTTP API authorizer passes
    /// the claims on; [`Caller::verify`] then checks it against the stored user.
    pub fn claimed(claims: &HashMap<String, String>) -> Result<Claimed, ApiError> {
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
        let administrator = ROLE_CLAIMS
            .iter()
            .filter_map(|c| claims.get(*c))
            .any(|roles| {
                roles
                    .trim_matches(|c| c == '[' || c == ']')
                    .split([' ', ','])
                    .any(|role| ADMIN_ROLES.contains(&role.trim().to_lowercase().as_str()))
            });
        Ok(Claimed {
            tenant,
            user,
            administrator,
            email: claims.get("email").cloned(),
            name: claims.get("name").cloned(),
        })
    }

    /// The caller the claims name, if they are an active user of the tenant.
    pub async fn verify(
        members: &(dyn Members + Sync),
        claims: &HashMap<String, String>,
    ) -> Result<Self, ApiError> {
        let claimed = Self::claimed(claims)?;
        let stored = Membership {
            users: members.users(),
            cache: members.membership_cache(),
            clock: members.clock(),
        }
        .verify(&claimed)
        .await?;
        Ok(Caller {
            tenant: claimed.tenant,
            user: stored.id.clone(),
            admin: stored.role == Role::Administrator,
            stored,
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

/// A caller who must be an administrator, checked before the body is read: a salesperson is
/// told 403, not what was wrong with a body they may not send anyway.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl<S: Members + Send + Sync> FromRequestParts<S> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_admin()?;
        Ok(Admin(caller))
    }
}

/// JWT claims put on a request by a local entry point (the Lambda path carries them in the
/// API Gateway request context instead).
#[derive(Debug, Clone, Default)]
pub struct LocalClaims(pub HashMap<String, String>);

impl<S: Members + Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(RequestContext::ApiGatewayV2(ctx)) = parts.extensions.get::<RequestContext>() {
            let claims = ctx
                .authorizer
                .as_ref()
                .and_then(|a| a.jwt.as_ref())
                .map(|jwt| jwt.claims.clone());
            return match claims {
                Some(claims) => Caller::verify(state, &claims).await,
                None => Err(ApiError::Unauthenticated("no JWT authorizer claims")),
            };
        }
        let claims = parts.extensions.get::<LocalClaims>().map(|c| c.0.clone());
        match claims {
            Some(claims) => Caller::verify(state, &claims).await,
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
    fn tenant_subject_and_groups_are_read_from_claims() {
        let claimed = Caller::claimed(&claims(&[
            ("custom:tenant_id", "acme"),
            ("sub", "u-1"),
            ("cognito:groups", "[sales Admin]"),
            ("email", "an@acme.vn"),
        ]))
        .unwrap();
        assert_eq!(
            (
                claimed.tenant.as_str(),
                claimed.user.as_str(),
                claimed.administrator
            ),
            ("acme", "u-1", true)
        );
        assert_eq!(claimed.email.as_deref(), Some("an@acme.vn"));
        let sales = Caller::claimed(&claims(&[
            ("tenant_id", "acme"),
            ("sub", "u-2"),
            ("roles", "sales"),
        ]))
        .unwrap();
        assert!(!sales.administrator);
    }

    #[test]
    fn missing_or_malformed_claims_are_unauthenticated() {
        assert!(Caller::claimed(&claims(&[("sub", "u")])).is_err());
        assert!(Caller::claimed(&claims(&[("tenant_id", "a#b"), ("sub", "u")])).is_err());
        assert!(Caller::claimed(&claims(&[("tenant_id", "a")])).is_err());
    }
}
